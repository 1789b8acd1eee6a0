#!/usr/bin/env python3
"""stage.py TEMPLATE FEATURES...: the text with only the named features.
Blocks: a line '@@ FEAT' opens, '@@ end' closes (nestable).
Inline: [[FEAT|text]] or [[FEAT|with|without]]; [[!FEAT|text]] when absent."""
import re, sys
tpl = open(sys.argv[1]).read()
feats = set(sys.argv[2:])
out, stack = [], []
for line in tpl.split('\n'):
    m = re.match(r'^@@ (\S+)$', line)
    if m:
        if m.group(1) == 'end':
            stack.pop()
        else:
            stack.append(m.group(1))
        continue
    if all((f[1:] not in feats) if f.startswith('!') else (f in feats) for f in stack):
        out.append(line)
text = '\n'.join(out)
def inl(m):
    f, parts = m.group(1), m.group(2).split('|')
    on = (f[1:] not in feats) if f.startswith('!') else (f in feats)
    if on:
        return parts[0]
    return parts[1] if len(parts) > 1 else ''
prev = None
while prev != text:
    prev = text
    text = re.sub(r'\[\[(!?\w+)\|([^\[\]]*)\]\]', inl, text)
sys.stdout.write(text)
