package convnet.weights;

import java.io.ByteArrayOutputStream;
import java.math.BigInteger;
import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;

/**
 * A restricted reader of Python pickles (protocols 2–5), enough for a PyTorch {@code state_dict}.
 * It never runs anything: the only callables it knows are the few a state dict uses
 * ({@code collections.OrderedDict}, {@code torch._utils._rebuild_tensor_v2}, {@code _rebuild_parameter},
 * the storage types), and it represents them as Java data. Any other global — {@code os.system},
 * {@code builtins.eval}, {@code subprocess.Popen} ... — stops the read with an error naming it.
 *
 * <p>It is also bounded: containers nest at most {@link #MAX_DEPTH} levels (counted on the stack of marks and
 * as containers are built, then measured exactly, without recursion, over what the pickle made: nesting built
 * top-down through the memo included), no structure holds itself, and one pickle makes at most
 * {@link #MAX_OBJECTS} objects. Its lists and dicts compare and hash by identity and print in a few words, so
 * no Java method recurses through what a file built.
 *
 * <p>{@link #scan} reads any pickle that way without interpreting it — any global is a name, any call an
 * opaque object — to check one that libtorch will read (whose own reader would overflow the native stack
 * on a deep one, which kills the JVM).
 */
final class Unpickler {
    /** A reference to (part of) a storage, as PyTorch's persistent id names it. */
    record StorageRef(String dtype, String key, long numel) {}

    /** A tensor to be built from a storage: dtype, storage, offset, size, stride. */
    record TensorRef(StorageRef storage, long offset, long[] size, long[] stride) {
        /** With the sizes and strides as numbers (a record prints arrays as addresses), for error messages. */
        @Override
        public String toString() {
            return "tensor(" + storage + ", offset " + offset + ", size " + Arrays.toString(size) + ", stride "
                    + Arrays.toString(stride) + ")";
        }
    }

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

    /** The deepest nesting of lists, tuples and dicts a pickle may build; a state dict needs three or four. */
    static final int MAX_DEPTH = 1000;

    /**
     * The most objects (pushes on the stack and memo entries) one pickle may make: a state dict needs about 25 a
     * tensor, so this is 200,000 tensors, and it bounds the memory a small hostile pickle can claim.
     */
    static final long MAX_OBJECTS = 5_000_000;

    /** A pickled list or tuple; equal only to itself, so that hashing or comparing it never walks its items. */
    static final class PList extends ArrayList<Object> {
        final boolean tuple;
        int depth = 1;

        PList(boolean tuple, int capacity) {
            super(capacity);
            this.tuple = tuple;
        }

        @Override
        public boolean equals(Object o) {
            return this == o;
        }

        @Override
        public int hashCode() {
            return System.identityHashCode(this);
        }

        @Override
        public String toString() {
            return Text.shown(this);
        }
    }

    /** What a {@linkplain #scan scanned} pickle calls or builds: the parts it is made of, uninterpreted. */
    static final class PObject {
        final List<Object> parts = new ArrayList<>();
        int depth = 1;

        @Override
        public String toString() {
            return "<object>";
        }
    }

    /** A pickled dict or OrderedDict; equal only to itself, as {@link PList}. */
    static final class PDict extends LinkedHashMap<Object, Object> {
        int depth = 1;

        @Override
        public boolean equals(Object o) {
            return this == o;
        }

        @Override
        public int hashCode() {
            return System.identityHashCode(this);
        }

        @Override
        public String toString() {
            return Text.shown(this);
        }
    }

    private final ByteBuffer in;
    private final String source;
    private final List<Object> stack = new ArrayList<>();
    private final List<Integer> marks = new ArrayList<>();
    private final Map<Long, Object> memo = new HashMap<>();
    private long objects;

    private final boolean opaque;

    Unpickler(byte[] data, int offset, String source) {
        this(data, offset, source, false);
    }

    private Unpickler(byte[] data, int offset, String source, boolean opaque) {
        this.in = ByteBuffer.wrap(data).order(ByteOrder.LITTLE_ENDIAN);
        this.in.position(offset);
        this.source = source;
        this.opaque = opaque;
    }

    /**
     * Reads the pickle in {@code data} with every bound checked (nesting, objects, size) but nothing refused or
     * interpreted: globals are names, calls and persistent ids opaque objects. For pickles another reader will
     * load. Throws a {@link WeightsException} naming {@code source} if a bound is passed or the pickle is damaged.
     */
    static void scan(byte[] data, String source) {
        new Unpickler(data, 0, source, true).load();
    }

    /** Where the next pickle would start (legacy files hold several in a row). */
    int position() {
        return in.position();
    }

    private WeightsException bad(String what) {
        return new WeightsException(source + ": " + what);
    }

    private void push(Object o) {
        count();
        stack.add(o);
    }

    private void count() {
        if (++objects > MAX_OBJECTS) {
            throw bad(String.format(
                    Locale.ROOT,
                    "pickle makes more than %,d objects, far more than a state dict needs (damaged or hostile file)",
                    MAX_OBJECTS));
        }
    }

    private void remember(long key, Object value) {
        count();
        memo.put(key, value);
    }

    private WeightsException tooDeep() {
        return bad("pickle nesting deeper than " + MAX_DEPTH + " levels");
    }

    private static int depth(Object o) {
        if (o instanceof PList l) return l.depth;
        if (o instanceof PDict d) return d.depth;
        if (o instanceof PObject p) return p.depth;
        return 0;
    }

    /** Notes that {@code container} now holds {@code item}: its depth is at least one more than the item's. */
    private void holds(Object container, Object item) {
        int d = depth(item) + 1;
        if (d > MAX_DEPTH) throw tooDeep();
        if (container instanceof PList l) l.depth = Math.max(l.depth, d);
        else if (container instanceof PDict m) m.depth = Math.max(m.depth, d);
        else if (container instanceof PObject p) p.depth = Math.max(p.depth, d);
    }

    private PObject object(Object... parts) {
        PObject o = new PObject();
        for (Object part : parts) {
            holds(o, part);
            o.parts.add(part);
        }
        return o;
    }

    private static Iterator<?> parts(Object o) {
        if (o instanceof PList l) return l.iterator();
        if (o instanceof PObject p) return p.parts.iterator();
        if (o instanceof PDict d)
            return d.entrySet().stream()
                    .flatMap(e -> Stream.of(e.getKey(), e.getValue()))
                    .iterator();
        return null;
    }

    /**
     * Measures how deep what the pickle made really nests — from its result, its memo and what is left on its
     * stack — with an explicit stack rather than recursion: the depths counted as containers were built miss a
     * container that grew after it was put into another (through the memo), and a structure that holds itself.
     */
    private void checkNesting(Object result) {
        Map<Object, Integer> measured = new IdentityHashMap<>();
        List<Object> roots = new ArrayList<>(memo.values());
        roots.add(result);
        roots.addAll(stack);
        for (Object root : roots) {
            if (parts(root) == null || measured.containsKey(root)) continue;
            measure(root, measured);
        }
    }

    /**
     * Walks what {@code root} holds, depth first, and records in {@code measured} how deep each container nests
     * (one for a container of no containers); a container met again on the path being walked holds itself.
     */
    private void measure(Object root, Map<Object, Integer> measured) {
        Set<Object> open = Collections.newSetFromMap(new IdentityHashMap<>());
        ArrayDeque<Object> nodes = new ArrayDeque<>();
        ArrayDeque<Iterator<?>> iterators = new ArrayDeque<>();
        ArrayDeque<int[]> deepest = new ArrayDeque<>();
        nodes.push(root);
        iterators.push(parts(root));
        deepest.push(new int[1]);
        open.add(root);
        while (!nodes.isEmpty()) {
            Iterator<?> it = iterators.peek();
            if (it.hasNext()) {
                Object part = it.next();
                Iterator<?> partParts = parts(part);
                if (partParts == null) continue;
                Integer d = measured.get(part);
                if (d != null) {
                    deepest.peek()[0] = Math.max(deepest.peek()[0], d);
                    continue;
                }
                if (open.contains(part)) throw bad("pickle holds a structure that contains itself");
                if (nodes.size() >= MAX_DEPTH) throw tooDeep();
                nodes.push(part);
                iterators.push(partParts);
                deepest.push(new int[1]);
                open.add(part);
            } else {
                Object done = nodes.pop();
                iterators.pop();
                int d = deepest.pop()[0] + 1;
                open.remove(done);
                measured.put(done, d);
                if (!deepest.isEmpty()) deepest.peek()[0] = Math.max(deepest.peek()[0], d);
            }
        }
    }

    private PList list(boolean tuple, List<Object> items) {
        PList l = new PList(tuple, items.size());
        for (Object item : items) {
            holds(l, item);
            l.add(item);
        }
        return l;
    }

    private PList tuple(Object... items) {
        return list(true, Arrays.asList(items));
    }

    private List<Object> appendable(Object o) {
        if (o instanceof PList l && !l.tuple) return l;
        throw bad("damaged pickle (appends to something that is not a list)");
    }

    private Map<Object, Object> settable(Object o) {
        if (o instanceof PDict m) return m;
        throw bad("damaged pickle (sets an item of something that is not a dict)");
    }

    private void putAll(Map<Object, Object> m, List<Object> items) {
        if (items.size() % 2 != 0) throw bad("damaged pickle (a dict's keys and values do not pair up)");
        for (int i = 0; i < items.size(); i += 2) {
            holds(m, items.get(i));
            holds(m, items.get(i + 1));
            m.put(items.get(i), items.get(i + 1));
        }
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

    private String text(long n) {
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
        if (!opaque && !ALLOWED.contains(full)) {
            throw bad("refusing to load: the file asks to call " + Text.shown(full)
                    + ", which a weights file never needs (it could run code); nothing was executed");
        }
        return new Global(module, name);
    }

    /** Reads one pickle up to its STOP; {@code persistent} turns persistent ids into storage references. */
    Object load() {
        try {
            while (true) {
                if (!in.hasRemaining()) throw bad("truncated pickle (no STOP)");
                int op = in.get() & 0xff;
                if (op == '.') { // STOP
                    Object result = pop();
                    checkNesting(result);
                    return result;
                }
                if (!(control(op) || constant(op) || container(op) || fill(op) || memo(op) || callable(op))) {
                    throw bad(String.format(
                            "unsupported or damaged pickle (opcode 0x%02x at byte %d)", op, in.position() - 1));
                }
            }
        } catch (WeightsException e) {
            throw e;
        } catch (BufferUnderflowException e) {
            throw bad("truncated pickle");
        } catch (RuntimeException e) { // ClassCastException, NumberFormatException, ...: data of the wrong kind
            throw bad("damaged pickle (unexpected structure)");
        }
    }

    /** PROTO, FRAME, MARK, POP, DUP: framing and the stack itself. False if {@code op} is not one of them. */
    private boolean control(int op) {
        switch (op) {
            case 0x80 -> in.get(); // PROTO
            case 0x95 -> in.getLong(); // FRAME
            case '(' -> { // MARK
                if (marks.size() >= MAX_DEPTH) throw tooDeep();
                count();
                marks.add(stack.size());
            }
            case '0' -> pop(); // POP
            case '2' -> push(peek()); // DUP
            default -> {
                return false;
            }
        }
        return true;
    }

    /** None, booleans, integers, floats, strings and bytes. False if {@code op} pushes no constant. */
    private boolean constant(int op) {
        switch (op) {
            case 'N' -> push(null);
            case 0x88 -> push(Boolean.TRUE);
            case 0x89 -> push(Boolean.FALSE);
            case 'J' -> push((long) in.getInt());
            case 'K' -> push((long) (in.get() & 0xff));
            case 'M' -> push((long) (in.getShort() & 0xffff));
            case 0x8a -> push(long1()); // LONG1
            case 'G' -> push(binfloat()); // BINFLOAT
            case 'X' -> push(text(in.getInt()));
            case 0x8c -> push(text(in.get() & 0xff));
            case 0x8d -> push(text(in.getLong()));
            case 'T' -> push(bytes(in.getInt()));
            case 'U' -> push(bytes(in.get() & 0xff));
            case 'B' -> push(bytes(in.getInt()));
            case 'C' -> push(bytes(in.get() & 0xff));
            case 0x8e -> push(bytes(in.getLong()));
            default -> {
                return false;
            }
        }
        return true;
    }

    /** LONG1: a little-endian two's-complement integer of up to 255 bytes (a BigInteger past 8). */
    private Object long1() {
        int n = in.get() & 0xff;
        byte[] b = bytes(n);
        long v = 0;
        for (int i = n - 1; i >= 0; i--) v = (v << 8) | (b[i] & 0xff);
        if (n > 0 && n < 8 && (b[n - 1] & 0x80) != 0) v -= 1L << (8 * n);
        return n > 8 ? (Object) new BigInteger(reverse(b)) : (Object) v;
    }

    /** BINFLOAT: a big-endian double. */
    private double binfloat() {
        long bits = in.order(ByteOrder.BIG_ENDIAN).getLong();
        in.order(ByteOrder.LITTLE_ENDIAN);
        return Double.longBitsToDouble(bits);
    }

    /** Ops that make a list, tuple or dict. False if {@code op} makes none. */
    private boolean container(int op) {
        switch (op) {
            case '}' -> push(new PDict());
            case ']' -> push(new PList(false, 0));
            case ')' -> push(new PList(true, 0));
            case 't' -> push(list(true, popToMark()));
            case 0x85 -> push(tuple(pop()));
            case 0x86 -> {
                Object b = pop(), a = pop();
                push(tuple(a, b));
            }
            case 0x87 -> {
                Object c = pop(), b = pop(), a = pop();
                push(tuple(a, b, c));
            }
            case 'l' -> push(list(false, popToMark()));
            case 'd' -> {
                PDict m = new PDict();
                putAll(m, popToMark());
                push(m);
            }
            default -> {
                return false;
            }
        }
        return true;
    }

    /** SETITEM, SETITEMS, APPEND, APPENDS: items into the dict or list under them. False for any other op. */
    private boolean fill(int op) {
        switch (op) {
            case 's' -> {
                Object v = pop(), k = pop();
                putAll(settable(peek()), Arrays.asList(k, v));
            }
            case 'u' -> {
                List<Object> items = popToMark();
                putAll(settable(peek()), items);
            }
            case 'a' -> {
                Object v = pop();
                Object l = peek();
                holds(l, v);
                appendable(l).add(v);
            }
            case 'e' -> {
                List<Object> items = popToMark();
                Object l = peek();
                List<Object> target = appendable(l);
                for (Object item : items) holds(l, item);
                target.addAll(items);
            }
            default -> {
                return false;
            }
        }
        return true;
    }

    /** PUT and GET in their binary, long and text forms, and MEMOIZE. False for any other op. */
    private boolean memo(int op) {
        switch (op) {
            case 'q' -> remember(in.get() & 0xff, peek());
            case 'r' -> remember(in.getInt() & 0xffffffffL, peek());
            case 0x94 -> remember(memo.size(), peek());
            case 'h' -> push(memoGet(in.get() & 0xff));
            case 'j' -> push(memoGet(in.getInt() & 0xffffffffL));
            case 'p' -> remember(Long.parseLong(line().strip()), peek());
            case 'g' -> push(memoGet(Long.parseLong(line().strip())));
            default -> {
                return false;
            }
        }
        return true;
    }

    /**
     * Globals (checked against {@link #ALLOWED}), calls, BUILD and persistent ids: the ops that would run code in
     * Python, here turned into data. False for any other op.
     */
    @SuppressWarnings("unchecked")
    private boolean callable(int op) {
        switch (op) {
            case 'c' -> { // GLOBAL: module\nname\n
                String module = line(), name = line();
                push(global(module, name));
            }
            case 0x93 -> push(stackGlobal()); // STACK_GLOBAL
            case 'R', 0x81 -> { // REDUCE, NEWOBJ
                Object args = pop(), fn = pop();
                push(call(fn, (List<Object>) args));
            }
            case 'b' -> { // BUILD: state on an object; a state dict's objects take none we need
                Object state = pop();
                if (opaque && peek() instanceof PObject o) {
                    holds(o, state);
                    o.parts.add(state);
                }
            }
            case 'Q' -> push(persistent(pop())); // BINPERSID
            default -> {
                return false;
            }
        }
        return true;
    }

    /** STACK_GLOBAL: a global named by the two strings on the stack. */
    private Object stackGlobal() {
        Object name = pop(), module = pop();
        if (!(module instanceof String m && name instanceof String n))
            throw bad("damaged pickle (a global named by " + Text.shown(module) + ", " + Text.shown(name) + ")");
        return global(m, n);
    }

    private static byte[] reverse(byte[] b) {
        byte[] r = new byte[b.length];
        for (int i = 0; i < b.length; i++) r[i] = b[b.length - 1 - i];
        return r;
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
        if (opaque) return object(pid);
        if (!(pid instanceof List<?> t)
                || t.size() < 5
                || !"storage".equals(t.get(0))
                || !(t.get(1) instanceof Global g)) {
            throw bad("unsupported persistent id " + Text.shown(pid));
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
            default -> throw bad("unsupported storage type " + Text.shown(g.name));
        };
        return new StorageRef(dtype, String.valueOf(t.get(2)), ((Number) t.get(4)).longValue());
    }

    private Object call(Object fn, List<Object> args) {
        if (opaque) return object(fn, args);
        if (!(fn instanceof Global g)) throw bad("damaged pickle (calls a non-function)");
        String full = g.module + "." + g.name;
        switch (full) {
            case "collections.OrderedDict" -> {
                return new PDict();
            }
            case "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_tensor" -> {
                if (args.size() < 4 || !(args.get(0) instanceof StorageRef s)) throw bad("damaged tensor record");
                long[] size = longs(args.get(2)), stride = longs(args.get(3));
                if (size.length != stride.length)
                    throw bad("damaged tensor record (sizes and strides differ in number)");
                return new TensorRef(s, ((Number) args.get(1)).longValue(), size, stride);
            }
            case "torch._utils._rebuild_parameter" -> {
                if (args.isEmpty() || !(args.get(0) instanceof TensorRef t)) throw bad("damaged parameter record");
                return t;
            }
            default -> throw bad("refusing to call " + Text.shown(full));
        }
    }

    private long[] longs(Object o) {
        List<?> l = (List<?>) o;
        long[] out = new long[l.size()];
        for (int i = 0; i < out.length; i++) out[i] = ((Number) l.get(i)).longValue();
        return out;
    }
}
