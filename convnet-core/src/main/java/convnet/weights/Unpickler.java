package convnet.weights;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A restricted reader of Python pickles (protocols 2–5), enough for a PyTorch {@code state_dict}.
 * It never runs anything: the only callables it knows are the few a state dict uses
 * ({@code collections.OrderedDict}, {@code torch._utils._rebuild_tensor_v2}, {@code _rebuild_parameter},
 * the storage types), and it represents them as Java data. Any other global — {@code os.system},
 * {@code builtins.eval}, {@code subprocess.Popen} ... — stops the read with an error naming it.
 */
final class Unpickler {
    /** A reference to (part of) a storage, as PyTorch's persistent id names it. */
    record StorageRef(String dtype, String key, long numel) {}

    /** A tensor to be built from a storage: dtype, storage, offset, size, stride. */
    record TensorRef(StorageRef storage, long offset, long[] size, long[] stride) {}

    /** A global that a state dict may name. */
    record Global(String module, String name) {}

    static final Set<String> ALLOWED = Set.of(
            "collections.OrderedDict",
            "torch._utils._rebuild_tensor_v2",
            "torch._utils._rebuild_tensor",
            "torch._utils._rebuild_parameter",
            "torch.FloatStorage",
            "torch.DoubleStorage",
            "torch.HalfStorage",
            "torch.BFloat16Storage",
            "torch.LongStorage",
            "torch.IntStorage",
            "torch.ShortStorage",
            "torch.CharStorage",
            "torch.ByteStorage",
            "torch.BoolStorage");

    private static final Object MARK = new Object();

    private final ByteBuffer in;
    private final String source;
    private final List<Object> stack = new ArrayList<>();
    private final List<Integer> marks = new ArrayList<>();
    private final Map<Long, Object> memo = new HashMap<>();

    Unpickler(byte[] data, int offset, String source) {
        this.in = ByteBuffer.wrap(data).order(ByteOrder.LITTLE_ENDIAN);
        this.in.position(offset);
        this.source = source;
    }

    /** Where the next pickle would start (legacy files hold several in a row). */
    int position() {
        return in.position();
    }

    private WeightsException bad(String what) {
        return new WeightsException(source + ": " + what);
    }

    private Object pop() {
        if (stack.isEmpty()) throw bad("damaged pickle (stack underflow)");
        return stack.remove(stack.size() - 1);
    }

    private List<Object> popToMark() {
        if (marks.isEmpty()) throw bad("damaged pickle (no mark)");
        int m = marks.remove(marks.size() - 1);
        List<Object> items = new ArrayList<>(stack.subList(m, stack.size()));
        stack.subList(m, stack.size()).clear();
        return items;
    }

    private String text(int n) {
        byte[] b = bytes(n);
        return new String(b, StandardCharsets.UTF_8);
    }

    private byte[] bytes(long n) {
        if (n < 0 || n > in.remaining()) throw bad("damaged or truncated pickle");
        byte[] b = new byte[(int) n];
        in.get(b);
        return b;
    }

    private String line() {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        while (true) {
            if (!in.hasRemaining()) throw bad("truncated pickle");
            byte c = in.get();
            if (c == '\n') break;
            b.write(c);
        }
        return b.toString(StandardCharsets.UTF_8);
    }

    private Object global(String module, String name) {
        String full = module + "." + name;
        if (!ALLOWED.contains(full)) {
            throw bad("refusing to load: the file asks to call " + full
                    + ", which a weights file never needs (it could run code); nothing was executed");
        }
        return new Global(module, name);
    }

    /** Reads one pickle up to its STOP; {@code persistent} turns persistent ids into storage references. */
    @SuppressWarnings("unchecked")
    Object load() {
        try {
            while (true) {
                if (!in.hasRemaining()) throw bad("truncated pickle (no STOP)");
                int op = in.get() & 0xff;
                switch (op) {
                    case 0x80 -> in.get(); // PROTO
                    case 0x95 -> in.getLong(); // FRAME
                    case '.' -> { // STOP
                        return pop();
                    }
                    case '}' -> stack.add(new LinkedHashMap<Object, Object>());
                    case ']' -> stack.add(new ArrayList<Object>());
                    case ')' -> stack.add(List.of());
                    case '(' -> {
                        marks.add(stack.size());
                    }
                    case 'N' -> stack.add(null);
                    case 0x88 -> stack.add(Boolean.TRUE);
                    case 0x89 -> stack.add(Boolean.FALSE);
                    case 'J' -> stack.add((long) in.getInt());
                    case 'K' -> stack.add((long) (in.get() & 0xff));
                    case 'M' -> stack.add((long) (in.getShort() & 0xffff));
                    case 0x8a -> { // LONG1
                        int n = in.get() & 0xff;
                        byte[] b = bytes(n);
                        long v = 0;
                        for (int i = n - 1; i >= 0; i--) v = (v << 8) | (b[i] & 0xff);
                        if (n > 0 && n < 8 && (b[n - 1] & 0x80) != 0) v -= 1L << (8 * n);
                        stack.add(n > 8 ? (Object) new java.math.BigInteger(reverse(b)) : (Object) v);
                    }
                    case 'G' -> { // BINFLOAT, big-endian
                        long bits = in.order(ByteOrder.BIG_ENDIAN).getLong();
                        in.order(ByteOrder.LITTLE_ENDIAN);
                        stack.add(Double.longBitsToDouble(bits));
                    }
                    case 'X' -> stack.add(text(in.getInt()));
                    case 0x8c -> stack.add(text(in.get() & 0xff));
                    case 0x8d -> stack.add(text((int) in.getLong()));
                    case 'T' -> stack.add(bytes(in.getInt()));
                    case 'U' -> stack.add(bytes(in.get() & 0xff));
                    case 'B' -> stack.add(bytes(in.getInt()));
                    case 'C' -> stack.add(bytes(in.get() & 0xff));
                    case 0x8e -> stack.add(bytes(in.getLong()));
                    case 't' -> stack.add(tuple(popToMark().toArray()));
                    case 0x85 -> stack.add(tuple(pop()));
                    case 0x86 -> {
                        Object b = pop(), a = pop();
                        stack.add(tuple(a, b));
                    }
                    case 0x87 -> {
                        Object c = pop(), b = pop(), a = pop();
                        stack.add(tuple(a, b, c));
                    }
                    case 'l' -> stack.add(new ArrayList<>(popToMark()));
                    case 'd' -> {
                        List<Object> items = popToMark();
                        Map<Object, Object> m = new LinkedHashMap<>();
                        for (int i = 0; i + 1 < items.size(); i += 2) m.put(items.get(i), items.get(i + 1));
                        stack.add(m);
                    }
                    case 'c' -> { // GLOBAL: module\nname\n
                        String module = line(), name = line();
                        stack.add(global(module, name));
                    }
                    case 0x93 -> { // STACK_GLOBAL
                        Object name = pop(), module = pop();
                        stack.add(global(String.valueOf(module), String.valueOf(name)));
                    }
                    case 'R' -> { // REDUCE
                        Object args = pop(), fn = pop();
                        stack.add(call(fn, (List<Object>) args));
                    }
                    case 0x81 -> { // NEWOBJ
                        Object args = pop(), cls = pop();
                        stack.add(call(cls, (List<Object>) args));
                    }
                    case 'b' -> { // BUILD: state on an object; a state dict's objects take none we need
                        pop();
                    }
                    case 's' -> {
                        Object v = pop(), k = pop();
                        ((Map<Object, Object>) peek()).put(k, v);
                    }
                    case 'u' -> {
                        List<Object> items = popToMark();
                        Map<Object, Object> m = (Map<Object, Object>) peek();
                        for (int i = 0; i + 1 < items.size(); i += 2) m.put(items.get(i), items.get(i + 1));
                    }
                    case 'a' -> {
                        Object v = pop();
                        ((List<Object>) peek()).add(v);
                    }
                    case 'e' -> {
                        List<Object> items = popToMark();
                        ((List<Object>) peek()).addAll(items);
                    }
                    case 'q' -> memo.put((long) (in.get() & 0xff), peek());
                    case 'r' -> memo.put((long) in.getInt() & 0xffffffffL, peek());
                    case 0x94 -> memo.put((long) memo.size(), peek());
                    case 'h' -> stack.add(memoGet(in.get() & 0xff));
                    case 'j' -> stack.add(memoGet(in.getInt() & 0xffffffffL));
                    case 'p' -> memo.put(Long.parseLong(line()), peek());
                    case 'g' -> stack.add(memoGet(Long.parseLong(line())));
                    case 'Q' -> stack.add(persistent(pop())); // BINPERSID
                    case '0' -> pop();
                    case '2' -> stack.add(peek());
                    default ->
                        throw bad(String.format(
                                "unsupported or damaged pickle (opcode 0x%02x at byte %d)", op, in.position() - 1));
                }
            }
        } catch (java.nio.BufferUnderflowException e) {
            throw bad("truncated pickle");
        } catch (ClassCastException | NullPointerException | IndexOutOfBoundsException e) {
            throw bad("damaged pickle (unexpected structure)");
        }
    }

    private static byte[] reverse(byte[] b) {
        byte[] r = new byte[b.length];
        for (int i = 0; i < b.length; i++) r[i] = b[b.length - 1 - i];
        return r;
    }

    private static List<Object> tuple(Object... items) {
        return java.util.Collections.unmodifiableList(new ArrayList<>(java.util.Arrays.asList(items)));
    }

    private Object peek() {
        if (stack.isEmpty()) throw bad("damaged pickle (stack underflow)");
        return stack.get(stack.size() - 1);
    }

    private Object memoGet(long key) {
        if (!memo.containsKey(key)) throw bad("damaged pickle (unknown memo " + key + ")");
        return memo.get(key);
    }

    /** ('storage', StorageType, key, location, numel[, view_metadata]) → a storage reference. */
    private Object persistent(Object pid) {
        if (!(pid instanceof List<?> t)
                || t.size() < 5
                || !"storage".equals(t.get(0))
                || !(t.get(1) instanceof Global g)) {
            throw bad("unsupported persistent id " + pid);
        }
        String dtype = switch (g.name) {
            case "FloatStorage" -> "F32";
            case "DoubleStorage" -> "F64";
            case "HalfStorage" -> "F16";
            case "BFloat16Storage" -> "BF16";
            case "LongStorage" -> "I64";
            case "IntStorage" -> "I32";
            case "ShortStorage" -> "I16";
            case "CharStorage" -> "I8";
            case "ByteStorage" -> "U8";
            case "BoolStorage" -> "BOOL";
            default -> throw bad("unsupported storage type " + g.name);
        };
        return new StorageRef(dtype, String.valueOf(t.get(2)), ((Number) t.get(4)).longValue());
    }

    private Object call(Object fn, List<Object> args) {
        if (!(fn instanceof Global g)) throw bad("damaged pickle (calls a non-function)");
        String full = g.module + "." + g.name;
        switch (full) {
            case "collections.OrderedDict" -> {
                return new LinkedHashMap<Object, Object>();
            }
            case "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_tensor" -> {
                if (args.size() < 4 || !(args.get(0) instanceof StorageRef s)) throw bad("damaged tensor record");
                return new TensorRef(s, ((Number) args.get(1)).longValue(), longs(args.get(2)), longs(args.get(3)));
            }
            case "torch._utils._rebuild_parameter" -> {
                if (args.isEmpty() || !(args.get(0) instanceof TensorRef t)) throw bad("damaged parameter record");
                return t;
            }
            default -> throw bad("refusing to call " + full);
        }
    }

    private long[] longs(Object o) {
        List<?> l = (List<?>) o;
        long[] out = new long[l.size()];
        for (int i = 0; i < out.length; i++) out[i] = ((Number) l.get(i)).longValue();
        return out;
    }
}
