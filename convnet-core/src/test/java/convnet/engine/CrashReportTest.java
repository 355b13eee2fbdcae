package convnet.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** Crash reports as the JVM writes them; the first is the head of a real one from 2026-12-04 (AMD EPYC, AVX-512). */
class CrashReportTest {
    @Test
    void theSignalTheNativeFrameAndTheJavaFramesOfAOneDnnCrash() {
        String hsErr = """
                #
                # A fatal error has been detected by the Java Runtime Environment:
                #
                #  SIGFPE (0x8) at pc=0x00007f9c04d78fb2, pid=7309, tid=7310
                #
                # JRE version: OpenJDK Runtime Environment (17.0.15+6) (build 17.0.15+6-Debian-1deb12u1)
                # Problematic frame:
                # C  [libtorch_cpu.so+0xb778fb2]  dnnl::impl::cpu::x64::brgemm_convolution_utils::brg_blocking_t::est_eff_1x1()+0xa22
                #

                Native frames: (J=compiled Java code, j=interpreted, Vv=VM code, C=native code)
                C  [libtorch_cpu.so+0xb778fb2]  dnnl::impl::cpu::x64::brgemm_convolution_utils::brg_blocking_t::est_eff_1x1()+0xa22

                Java frames: (J=compiled Java code, j=interpreted, Vv=VM code)
                j  org.bytedeco.pytorch.global.torch.conv2d(Lorg/bytedeco/pytorch/Tensor;[J[J[JJ)Lorg/bytedeco/pytorch/Tensor;+0
                j  convnet.model.Layers$Conv2d.forward(Lorg/bytedeco/pytorch/Tensor;)Lorg/bytedeco/pytorch/Tensor;+83
                j  convnet.model.Seq.forward(Lorg/bytedeco/pytorch/Tensor;)Lorg/bytedeco/pytorch/Tensor;+34
                """;
        CrashReport r = CrashReport.parse(hsErr.lines().toList(), Path.of("hs_err_7309.log"));
        assertEquals("SIGFPE", r.signal());
        assertEquals(
                "libtorch_cpu.so+0xb778fb2 dnnl::impl::cpu::x64::brgemm_convolution_utils::brg_blocking_t::est_eff_1x1()+0xa22",
                r.frame());
        assertEquals(
                "org.bytedeco.pytorch.global.torch.conv2d, from convnet.model.Layers$Conv2d.forward", r.javaFrame());
        assertEquals("SIGFPE in " + r.frame(), r.oneLine());
    }

    @Test
    void aFrameWithoutSymbolACompiledJavaFrameAndAProcessKilledFromOutside() {
        String hsErr = """
                #  SIGSEGV (0xb) at pc=0x00007f47f72a6058, pid=4642, tid=4643
                # Problematic frame:
                # C  [libc.so.6+0x16e058]

                Java frames: (J=compiled Java code, j=interpreted, Vv=VM code)
                J 812 c2 convnet.model.Seq.forward(Lorg/bytedeco/pytorch/Tensor;)Lorg/bytedeco/pytorch/Tensor; (49 bytes) @ 0x0 [0x0+0x1]
                """;
        CrashReport r = CrashReport.parse(hsErr.lines().toList(), null);
        assertEquals("SIGSEGV in libc.so.6+0x16e058", r.oneLine());
        assertEquals("convnet.model.Seq.forward", r.javaFrame());
        CrashReport killed = CrashReport.killed(137);
        assertEquals("SIGKILL", killed.signal());
        assertNull(killed.frame());
        assertEquals(
                "SIGKILL (no crash report: killed from outside, e.g. by the kernel's out-of-memory killer)",
                killed.oneLine());
    }
}
