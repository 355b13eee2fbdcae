package convnet.train;

import convnet.UserException;
import java.util.ArrayList;
import java.util.List;
import org.bytedeco.javacpp.DoublePointer;
import org.bytedeco.javacpp.SizeTPointer;
import org.bytedeco.javacpp.chrono.Milliseconds;
import org.bytedeco.pytorch.GlooDeviceVector;
import org.bytedeco.pytorch.ProcessGroupGloo;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.TCPStore;
import org.bytedeco.pytorch.TCPStoreOptions;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Data-parallel training over processes (on one machine or several) through libtorch's c10d: a
 * TCP rendezvous store served by rank 0 and a Gloo process group. After each backward pass the
 * gradients are summed across processes and divided by their number, so every process takes the same
 * optimizer step as one process would on the combined batch. BatchNorm statistics are per process
 * (as PyTorch's DistributedDataParallel without SyncBatchNorm): each normalises its own shard, and the
 * running statistics saved are rank 0's. Created once, outside any PointerScope.
 */
public final class Distributed implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Distributed.class);

    public final int rank, world;
    private final TCPStore store;
    private final ProcessGroupGloo group;

    private Distributed(int rank, int world, TCPStore store, ProcessGroupGloo group) {
        this.rank = rank;
        this.world = world;
        this.store = store;
        this.group = group;
    }

    /** Joins the group; rank 0 serves the store at {@code host:port}. Blocks until all {@code world} processes have joined. */
    public static Distributed join(String host, int port, int rank, int world, long timeoutSeconds) {
        if (world < 2) throw new UserException("--world-size must be at least 2 for distributed training");
        if (rank < 0 || rank >= world)
            throw new UserException("--rank must be in [0, " + (world - 1) + "], got " + rank);
        if (port <= 0 || port > 65535)
            throw new UserException("the rendezvous port must be in [1, 65535], got " + port);
        log.info(
                "rank {} of {}: waiting up to {} s at {}:{} for the other {} process{} to join",
                rank,
                world,
                timeoutSeconds,
                host,
                port,
                world - 1,
                world == 2 ? "" : "es");
        try {
            TCPStoreOptions o = new TCPStoreOptions();
            o.port((short) port);
            o.isServer(rank == 0);
            o.numWorkers(new SizeTPointer(1).put(world));
            o.waitWorkers(false);
            o.timeout(new Milliseconds(timeoutSeconds * 1000));
            TCPStore store = new TCPStore(host, o);
            ProcessGroupGloo.Options go = ProcessGroupGloo.Options.create(new Milliseconds(timeoutSeconds * 1000));
            go.devices(new GlooDeviceVector(ProcessGroupGloo.createDeviceForHostname(host)));
            ProcessGroupGloo group = new ProcessGroupGloo(store, rank, world, go);
            log.info("rank {} of {} joined the group at {}:{}", rank, world, host, port);
            return new Distributed(rank, world, store, group);
        } catch (RuntimeException e) {
            String why = String.valueOf(e.getMessage()).lines().findFirst().orElse("");
            if (why.contains("timeout") || why.contains("timed out")) {
                throw new UserException(
                        "rank " + rank + " of " + world + ": the other processes did not join at " + host + ":" + port
                                + " within " + timeoutSeconds + " s; start all " + world + " (ranks 0.." + (world - 1)
                                + ") with the same --master, or raise --join-timeout");
            }
            throw new UserException("cannot join the training group at " + host + ":" + port + " as rank " + rank
                    + " of " + world + ": " + why);
        }
    }

    /** Replaces each gradient by its mean over the processes. Call inside the step's scope. */
    public void averageGradients(List<Tensor> params) {
        List<Tensor> grads = new ArrayList<>();
        for (Tensor p : params) {
            Tensor g = p.grad();
            if (g.defined()) grads.add(g);
        }
        if (grads.isEmpty()) return;
        TensorVector v = new TensorVector(grads.toArray(new Tensor[0]));
        group.allreduce_coalesced(v)._wait();
        for (Tensor g : grads) g.div_(new Scalar((double) world));
    }

    /** Sums a few numbers over the processes (for epoch statistics). */
    public double[] sum(double... values) {
        Tensor t = org.bytedeco.pytorch.global.torch.empty(
                new long[] {values.length}, new TensorOptions(torch.ScalarType.Double), null);
        new DoublePointer(t.data_ptr()).put(values);
        group.allreduce(new TensorVector(t))._wait();
        double[] out = new double[values.length];
        new DoublePointer(t.data_ptr()).get(out);
        return out;
    }

    /** Waits until every process gets here. */
    public void barrier() {
        group.barrier()._wait();
    }

    @Override
    public void close() {
        // the group and store are released with the process; c10d objects have no orderly shutdown from here
    }
}
