#!/usr/bin/python3
"""The largest main source files and the longest methods, for the architecture issues' before/after figures.

    /usr/bin/python3 scripts/code_stats.py [ROOT] [N]

A method's length counts its lines from the first line of its signature to its closing brace. Brace matching
on lines (strings and // comments stripped), not a Java parser: rough, but the same count before and after.
"""
import glob, os, re, sys

root = sys.argv[1] if len(sys.argv) > 1 else "."
n = int(sys.argv[2]) if len(sys.argv) > 2 else 6
files = sorted(glob.glob(f"{root}/**/src/main/java/**/*.java", recursive=True))
signature = re.compile(r"(?:^|\s)([A-Za-z_]\w*)\s*\([^;{}]*\)\s*(?:throws\s+[\w.,\s]+)?\{\s*$", re.S)
not_methods = {"if", "for", "while", "switch", "catch", "synchronized", "try", "else", "return", "new", "do"}
comment = ("//", "*", "/*", "@")


def code(line):
    line = re.sub(r'"(?:\\.|[^"\\])*"', '""', line)
    line = re.sub(r"'(?:\\.|[^'\\])'", "''", line)
    return line.split("//")[0]


sizes, methods = [], []
for f in files:
    lines = open(f).read().split("\n")
    sizes.append((len(lines) - (lines[-1] == ""), f))
    text = ""
    for i, line in enumerate(lines):
        s = line.strip()
        if s.startswith(comment):
            text = ""
            continue
        text = f"{text} {s}" if text else s
        if not s or s.endswith((";", "}")):
            text = ""
            continue
        if not s.endswith("{"):
            continue
        m = signature.search(text)
        declaration = text.split("(")[0]
        if (m and m.group(1) not in not_methods and not re.search(r"\b(record|class|interface|enum)\b", text)
                and not re.search(r"\b(new|return)\b|=", declaration) and "->" not in text):
            depth, end = 0, i
            for end in range(i, len(lines)):
                depth += code(lines[end]).count("{") - code(lines[end]).count("}")
                if depth == 0:
                    break
            first = i  # the signature may start some lines up
            while first > 0 and first > i - 10 and lines[first - 1].strip() and not lines[first - 1].strip().endswith(
                    (";", "}", "{")) and not lines[first - 1].strip().startswith(comment):
                first -= 1
            methods.append((end - first + 1, f"{os.path.basename(f)[:-5]}.{m.group(1)}"))
        text = ""

sizes.sort(reverse=True)
methods.sort(reverse=True)
print(f"main files: {len(files)}, lines: {sum(s for s, _ in sizes)}")
print("largest files:")
for s, f in sizes[:n]:
    print(f"  {s:5d} {os.path.relpath(f, root)}")
print("longest methods:")
for length, name in methods[:n]:
    print(f"  {length:5d} {name}")
