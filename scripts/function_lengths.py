#!/usr/bin/env python3
"""Lists the longest member-function definitions (Class::method) in C++ files.

Lines are counted from the definition's first line to its closing brace,
with comments and string literals masked so their braces do not count.
    scripts/function_lengths.py [--top N] FILE...
e.g. scripts/function_lengths.py src/cluster/*.cpp
"""
import re
import sys


def mask(text):
    """Blanks comments and literal contents, keeping every offset."""
    out = list(text)
    i, n = 0, len(text)
    while i < n:
        if text.startswith('//', i):
            j = text.find('\n', i)
            j = n if j < 0 else j
        elif text.startswith('/*', i):
            j = text.find('*/', i) + 2
        elif text[i] == '"' or (text[i] == "'" and not (i and text[i - 1].isalnum())):
            j = i + 1
            while j < n and text[j] != text[i]:
                j += 2 if text[j] == '\\' else 1
            j += 1
        else:
            i += 1
            continue
        for k in range(i, j):
            if out[k] != '\n':
                out[k] = ' '
        i = j
    return ''.join(out)


def closing(text, i, open_char, close_char):
    depth = 0
    for j in range(i, len(text)):
        if text[j] == open_char:
            depth += 1
        elif text[j] == close_char:
            depth -= 1
            if depth == 0:
                return j
    return -1


def lengths(path):
    text = mask(open(path, encoding='utf-8').read())
    for match in re.finditer(r'^[A-Za-z][^;{}()]*?\b(\w+(?:::~?\w+)+)\s*\(', text, re.M):
        params_end = closing(text, match.end() - 1, '(', ')')
        if params_end < 0:
            continue
        head = re.match(r'\s*(?:const\s*)?(?:noexcept\s*)?(?::[^{;]*)?\{', text[params_end + 1:])
        if not head:
            continue
        body_end = closing(text, params_end + head.end(), '{', '}')
        if body_end >= 0:
            yield text.count('\n', match.start(), body_end) + 1, path, match.group(1)


def main(argv):
    top = 15
    if argv[:1] == ['--top']:
        top, argv = int(argv[1]), argv[2:]
    found = sorted((entry for path in argv for entry in lengths(path)), reverse=True)
    for lines, path, name in found[:top]:
        print(f'{lines:5} {name} ({path})')


if __name__ == '__main__':
    main(sys.argv[1:])
