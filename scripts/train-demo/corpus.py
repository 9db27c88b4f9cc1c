"""Assembles the demo model's corpus from what this machine's package registries hold, and its manifest.

Sources (all installed by `setup.sh` from Debian's packages or present in the project's node_modules):
  prose  python3.11-doc      Python's documentation, reStructuredText sources (PSF-2.0)
  prose  debian-handbook     The Debian Administrator's Handbook, HTML (GPL-2+ or CC-BY-SA-3.0)
  prose  npm packages        README/markdown of packages in node_modules whose licence is permissive
  code   python3.11          Python's standard library sources (PSF-2.0), tests excluded
  code   npm packages        JavaScript/TypeScript sources of the same packages, minified files excluded

Deterministic: files are read in sorted order, cleaned by fixed rules, and a file goes to the held-out slice
when sha256(relative name) % 50 == 0 (2 % of files, never split across slices). Output: corpus/train.jsonl and
corpus/heldout.jsonl under OUT (one {"source","kind","text"} per document) and manifest.json (every file
with its package, licence, bytes, sha256 and slice), which is committed; the corpus itself is not.
"""
import argparse
import glob
import hashlib
import html.parser
import json
import os
import re

PERMISSIVE = {'MIT', 'ISC', 'BSD-2-Clause', 'BSD-3-Clause', 'Apache-2.0', '0BSD', 'BlueOak-1.0.0', 'Unlicense', 'CC0-1.0'}
PY_DOC = '/usr/share/doc/python3.11/html/_sources'
HANDBOOK = '/usr/share/doc/debian-handbook/html/en-US'
PY_LIB = '/usr/lib/python3.11'
MAX_DOC = 200_000  # characters; longer files are cut (keeps one huge file from dominating)


def held_out(name: str) -> bool:
    return int(hashlib.sha256(name.encode()).hexdigest(), 16) % 50 == 0


ROLE = re.compile(r':[a-z:]+:`~?([^`<]*?)(?:\s*<[^>]*>)?`')
DIRECTIVE = re.compile(r'^\s*\.\. [a-z-]+::.*$|^\s*:[a-z-]+:.*$', re.M)


def clean_rst(text: str) -> str:
    text = ROLE.sub(r'\1', text)
    text = DIRECTIVE.sub('', text)
    text = re.sub(r'^[=\-~^*#"]{4,}\s*$', '', text, flags=re.M)  # section underlines
    text = text.replace('``', '')
    return re.sub(r'\n{3,}', '\n\n', text).strip()


class HtmlText(html.parser.HTMLParser):
    """Text of an HTML page's body, paragraphs and code blocks kept apart, scripts, styles and navigation dropped."""
    SKIP = {'script', 'style', 'head', 'nav'}
    BLOCK = {'p', 'pre', 'div', 'li', 'h1', 'h2', 'h3', 'h4', 'h5', 'tr', 'br', 'dt', 'dd', 'table'}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.out, self.skip = [], 0

    def handle_starttag(self, tag, attrs):
        if tag in self.SKIP:
            self.skip += 1
        elif tag in self.BLOCK:
            self.out.append('\n')

    def handle_endtag(self, tag):
        if tag in self.SKIP:
            self.skip = max(0, self.skip - 1)
        elif tag in self.BLOCK:
            self.out.append('\n')

    def handle_data(self, data):
        if not self.skip:
            self.out.append(data)

    def text(self):
        t = ''.join(self.out)
        t = re.sub(r'[ \t]+\n', '\n', t)
        return re.sub(r'\n{3,}', '\n\n', t).strip()


def html_text(raw: str) -> str:
    p = HtmlText()
    p.feed(raw)
    return p.text()


def minified(text: str) -> bool:
    lines = text.splitlines() or ['']
    return max(len(l) for l in lines) > 400 or len(text) / len(lines) > 120


def npm_packages(node_modules: str):
    for pj in sorted(glob.glob(os.path.join(node_modules, '**', 'package.json'), recursive=True)):
        d = os.path.dirname(pj)
        rel = os.path.relpath(d, node_modules)
        if '/test' in rel or '/node_modules/' in rel.replace(os.sep, '/') and rel.count('node_modules') > 1:
            continue
        try:
            meta = json.load(open(pj, encoding='utf-8'))
        except (OSError, ValueError):
            continue
        name, lic = meta.get('name'), meta.get('license')
        if not name or not isinstance(lic, str) or lic not in PERMISSIVE:
            continue
        # A package.json of the package itself, not a nested one of its build folders.
        if not rel.replace(os.sep, '/').endswith(name):
            continue
        yield d, f"{name}@{meta.get('version', '?')}", lic


def collect(node_modules: str):
    """Yields (relative name, kind, package, licence, cleaned text, raw bytes)."""
    for f in sorted(glob.glob(os.path.join(PY_DOC, '**', '*.rst.txt'), recursive=True)):
        rel = os.path.relpath(f, PY_DOC)
        if rel.startswith(('whatsnew/', 'c-api/')):  # change logs and C API listings: mostly identifiers
            continue
        raw = open(f, 'rb').read()
        yield 'python3.11-doc/' + rel, 'prose', 'python3.11-doc (Debian)', 'PSF-2.0', clean_rst(raw.decode('utf-8', 'replace')), raw
    for f in sorted(glob.glob(os.path.join(HANDBOOK, '*.html'))):
        raw = open(f, 'rb').read()
        yield 'debian-handbook/' + os.path.basename(f), 'prose', 'debian-handbook (Debian)', 'GPL-2+ OR CC-BY-SA-3.0', html_text(raw.decode('utf-8', 'replace')), raw
    for f in sorted(glob.glob(os.path.join(PY_LIB, '**', '*.py'), recursive=True)):
        rel = os.path.relpath(f, PY_LIB)
        if re.search(r'(^|/)(tests?|idle_test|site-packages|dist-packages|lib2to3|__pycache__)(/|$)', rel) or rel.startswith('test'):
            continue
        raw = open(f, 'rb').read()
        if len(raw) < 500:
            continue
        yield 'python3.11/' + rel, 'code', 'python3.11 stdlib (Debian)', 'PSF-2.0', raw.decode('utf-8', 'replace'), raw
    for d, pkg, lic in npm_packages(node_modules):
        for f in sorted(glob.glob(os.path.join(d, '**', '*'), recursive=True)):
            rel_in = os.path.relpath(f, d).replace(os.sep, '/')
            if 'node_modules/' in rel_in or not os.path.isfile(f):
                continue
            low = rel_in.lower()
            kind = 'prose' if low.endswith('.md') else 'code' if low.endswith(('.js', '.mjs', '.cjs', '.ts')) and not low.endswith('.d.ts') else None
            if kind is None or '.min.' in low or low.startswith(('dist/esm', 'dist/cjs', 'browser/')) and kind == 'code':
                continue
            if 'changelog' in low or 'history' in low:
                continue
            raw = open(f, 'rb').read()
            if len(raw) < 500 or len(raw) > 400_000:
                continue
            text = raw.decode('utf-8', 'replace')
            if kind == 'code' and minified(text):
                continue
            yield f'npm/{pkg}/{rel_in}', kind, pkg, lic, text, raw


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--node-modules', required=True)
    ap.add_argument('--out', required=True)
    ap.add_argument('--manifest', required=True)
    a = ap.parse_args()
    os.makedirs(os.path.join(a.out, 'corpus'), exist_ok=True)
    files, totals = [], {}
    seen = set()
    with open(os.path.join(a.out, 'corpus', 'train.jsonl'), 'w') as tr, open(os.path.join(a.out, 'corpus', 'heldout.jsonl'), 'w') as ho:
        for name, kind, pkg, lic, text, raw in collect(a.node_modules):
            digest = hashlib.sha256(raw).hexdigest()
            if digest in seen or len(text) < 300:  # the same file shipped twice, or nothing left after cleaning
                continue
            seen.add(digest)
            text = text[:MAX_DOC]
            split = 'heldout' if held_out(name) else 'train'
            (ho if split == 'heldout' else tr).write(json.dumps({'source': name, 'kind': kind, 'text': text}) + '\n')
            files.append({'file': name, 'kind': kind, 'package': pkg, 'licence': lic, 'bytes': len(raw), 'sha256': digest, 'split': split})
            key = f'{split}/{kind}'
            totals[key] = totals.get(key, 0) + len(text)
    manifest = {
        'rule': f'held out when sha256(file) % 50 == 0; text cut at {MAX_DOC} characters',
        'characters': totals,
        'files': files,
    }
    with open(a.manifest, 'w') as f:
        json.dump(manifest, f, indent=0)
        f.write('\n')
    print(json.dumps(totals))


if __name__ == '__main__':
    main()
