#!/usr/bin/env python3
"""Write the built page (www/) as a static site for any host: `./build.sh dist` → dist/.

- Cache-safe URLs: every script, ES module import (nested ones too: a version query on
  index.html does not reach them), the worker, the wasm, the catalogs, the stylesheet and
  the manifest are asked for with `?v=<build>`, where <build> is a hash of the whole site.
  A host can cache those for a year (docs/nginx.conf does); index.html, sw.js and the
  unversioned files (the sample, the lessons, library.json) are revalidated each time.
- The service worker (sw.js) gets the build and the list of files to keep offline.
- The Content-Security-Policy: `connect-src 'self' https: http://127.0.0.1:* http://localhost:*`
  by default (the page fetches only what a person asks for: an archive by URL, a registry),
  or `'self' $STRATA_CONNECT_SRC` when set (a team's own hosts only). It is written into
  index.html's <meta>, into dist/nginx.conf (from docs/nginx.conf) and dist/_headers (the
  header file Netlify / Cloudflare Pages read) — as a response header it also binds the
  workers, which a <meta> policy does not reach, and adds frame-ancestors 'none'.
- library.json: $STRATA_LIBRARY if set, else www/library.json if there, else an empty list;
  the page lists it on the landing page (www/js/hosting.js).
"""
import argparse
import hashlib
import json
import os
import re
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONNECT = "'self' https: http://127.0.0.1:* http://localhost:*"
# Files of www/ that are not part of the site.
SKIP = {'.gitignore', '.DS_Store'}
# Not kept offline by the service worker: itself, and the host's configuration files.
NOT_SHELL = {'sw.js', 'nginx.conf', '_headers'}

# A relative URL literal the page's code asks for: `from './x.js'`, `import('./x.js')`,
# `import './x.js'`, `new URL('../worker.js', import.meta.url)`, template literals too
# (`../locales/${l}/${part}.json`).
JS_REF = re.compile(r"""(\bfrom\s*|\bimport\s*\(?\s*|\bnew\s+URL\(\s*)(['"`])((?!https?:|data:|blob:|/)[^'"`?\s]+\.(?:js|wasm|json|webmanifest))\2""")
HTML_REF = re.compile(r"""\b(src|href)="((?!https?:|data:|blob:|/|#)[^"?#]+\.(?:js|css|webmanifest|svg|png))\"""")


def policy(connect):
    return ("default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; worker-src 'self'; "
            f"connect-src {connect}; style-src 'self'; img-src 'self' data: blob:; manifest-src 'self'; "
            "frame-src 'self'; base-uri 'none'; form-action 'none'; object-src 'none'")


def site_files(www):
    for path in sorted(www.rglob('*')):
        if path.is_file() and path.name not in SKIP and not any(p.startswith('.') for p in path.relative_to(www).parts):
            yield path.relative_to(www).as_posix()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--www', default=str(ROOT / 'www'))
    ap.add_argument('--out', default=str(ROOT / 'dist'))
    ap.add_argument('--build-id', help='the version in the URLs (default: a hash of the site)')
    args = ap.parse_args()
    www, out = Path(args.www), Path(args.out)
    if not (www / 'pkg' / 'strata_bg.wasm').exists():
        sys.exit(f'{www}/pkg/strata_bg.wasm is missing: run ./build.sh build first')
    extra = os.environ.get('STRATA_CONNECT_SRC', '').strip()
    connect = f"'self' {extra}" if extra else DEFAULT_CONNECT
    csp = policy(connect)

    files = list(site_files(www))
    library_src = os.environ.get('STRATA_LIBRARY') or (str(www / 'library.json') if (www / 'library.json').exists() else None)
    library = Path(library_src).read_bytes() if library_src else b'[]\n'
    json.loads(library)  # a broken library.json fails the build, not the page

    digest = hashlib.sha256()
    for name in files:
        digest.update(name.encode() + b'\0' + (www / name).read_bytes())
    digest.update(library + csp.encode())
    build = args.build_id or digest.hexdigest()[:12]
    version = f'?v={build}'

    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    versioned = set()  # files the page asks for with ?v=

    def resolve(from_file, ref):
        base = Path(from_file).parent
        return os.path.normpath((base / ref).as_posix()).replace(os.sep, '/')

    for name in files:
        src = www / name
        dest = out / name
        dest.parent.mkdir(parents=True, exist_ok=True)
        if name.endswith('.js') and name != 'sw.js':
            text = src.read_text(encoding='utf-8')

            def add_version(m):
                target = m.group(3)
                if target.endswith('sw.js'):
                    return m.group(0)  # the service worker keeps one URL: a new build is a new sw.js there
                if '${' not in target:
                    versioned.add(resolve(name, target))
                else:
                    versioned.add(('pattern', resolve(name, target)))
                return f'{m.group(1)}{m.group(2)}{target}{version}{m.group(2)}'
            dest.write_text(JS_REF.sub(add_version, text), encoding='utf-8')
        elif name == 'index.html':
            text = src.read_text(encoding='utf-8')

            def add_html_version(m):
                versioned.add(m.group(2))
                return f'{m.group(1)}="{m.group(2)}{version}"'
            text = HTML_REF.sub(add_html_version, text)
            text, n = re.subn(r'(<meta http-equiv="Content-Security-Policy" content=")[^"]*(")', lambda m: m.group(1) + csp + m.group(2), text)
            if n != 1:
                sys.exit('index.html: no Content-Security-Policy <meta> to replace')
            text = text.replace('<meta name="referrer"', f'<meta name="strata-build" content="{build}">\n'
                                '<meta name="strata-library" content="library.json">\n<meta name="referrer"', 1)
            dest.write_text(text, encoding='utf-8')
        else:
            shutil.copyfile(src, dest)
    (out / 'library.json').write_bytes(library)
    files.append('library.json')

    # What the service worker keeps: every file as the page asks for it (versioned or not;
    # the icons both ways: the manifest names them plainly).
    # (A template literal's `${...}` stands for one path segment.)
    patterns = [re.compile('^' + re.sub(r'\\\$\\\{[^}]*\\\}', '[^/]+', re.escape(p[1])) + '$') for p in versioned if isinstance(p, tuple)]
    shell = []
    for name in files:
        if name in NOT_SHELL:
            continue
        if name in versioned or any(p.match(name) for p in patterns):
            shell.append(name + version)
            if name.startswith('icons/') or name == 'manifest.webmanifest':
                shell.append(name)
        else:
            shell.append(name)
    sw = (www / 'sw.js').read_text(encoding='utf-8')
    sw, n1 = re.subn(r"const BUILD = '[^']*';", f"const BUILD = {json.dumps(build)};", sw, count=1)
    sw, n2 = re.subn(r"const SHELL = \[\];", 'const SHELL = ' + json.dumps(sorted(shell), indent=1) + ';', sw, count=1)
    if n1 != 1 or n2 != 1:
        sys.exit('sw.js: BUILD or SHELL not found')
    (out / 'sw.js').write_text(sw, encoding='utf-8')

    # The host's configuration, with this build's policy.
    nginx = (ROOT / 'docs' / 'nginx.conf').read_text(encoding='utf-8')
    nginx, n = re.subn(r'(add_header Content-Security-Policy ")[^"]*(")', lambda m: m.group(1) + csp + "; frame-ancestors 'none'" + m.group(2), nginx)
    if n != 1:
        sys.exit('docs/nginx.conf: no Content-Security-Policy header to replace')
    (out / 'nginx.conf').write_text(nginx, encoding='utf-8')
    (out / '_headers').write_text(
        '/*\n'
        f"  Content-Security-Policy: {csp}; frame-ancestors 'none'\n"
        '  X-Content-Type-Options: nosniff\n'
        '  Referrer-Policy: no-referrer\n', encoding='utf-8')
    print(f'dist: {out} (build {build}, {len(files)} files, {len(shell)} kept offline); connect-src {connect}')


if __name__ == '__main__':
    main()
