"""MkDocs hooks (registered under ``hooks:`` in mkdocs.yml): pages made at build time from the code and the repo.

Two kinds of pages are not kept under docs/, so that they cannot go stale:

- **Case studies** (``case_studies/<name>.md``): each is ``case_studies/<name>/README.md`` as it is at build time,
  with one figure of the study placed under its title, and its links rewritten by :func:`rewrite_links` so that
  the strict build never breaks on them (the rule is in that function's docstring and in docs/index.md).
- **API reference** (``reference/<layer>.md``): one page per layer of the package, listing every public name of
  ``bayeslaw`` (the ``_EXPORTS`` table of ``bayeslaw/__init__.py``, which maps each name to the module that
  defines it) and of ``bayeslaw.plots`` as a mkdocstrings ``:::`` block of its defining module. A name added to
  the package's face therefore appears in the reference without editing any page.
"""

from __future__ import annotations

import posixpath
import re
from pathlib import Path

from mkdocs.structure.files import File, Files

REPO = Path(__file__).resolve().parent.parent

# -- case studies -------------------------------------------------------------------------------------------------

#: folder under case_studies/ -> (navigation title, the figure to show under the page title)
CASE_STUDIES = {
    "chinchilla_refit": ("Chinchilla refit", "curve.png"),
    "law_comparison": ("Law comparison", "overlay.png"),
    "calibration": ("Calibration", None),   # no designated figure: the first PNG of the folder, if any
    "real_data_calibration": ("Real-data calibration", "coverage.png"),
    "sampler_health": ("Sampler health", None),
}
IMAGE_SUFFIXES = (".png", ".svg", ".jpg", ".jpeg", ".gif")

_FENCE = re.compile(r"^\s*(`{3,}|~{3,})")
_INLINE = re.compile(r"(!?)\[((?:[^\[\]]|\[[^\]]*\])*)\]\(\s*<?([^)\s>]*)>?(?:\s+(?:\"[^\"]*\"|'[^']*'))?\s*\)")
_REF_DEF = re.compile(r"^ {0,3}\[([^\]]+)\]:\s*<?(\S+?)>?(?:\s+.*)?$")
_REF_USE = re.compile(r"(!?)\[((?:[^\[\]]|\[[^\]]*\])*)\]\[([^\]]*)\]")


def find_figure(folder: Path, preferred: str | None) -> Path | None:
    """The study's figure: ``preferred`` in the folder or its results/, else the first PNG under the folder."""
    if preferred:
        for cand in (folder / preferred, folder / "results" / preferred):
            if cand.is_file():
                return cand
    pngs = sorted(folder.rglob("*.png"), key=lambda p: (len(p.relative_to(folder).parts), str(p)))
    return pngs[0] if pngs else None


def heading_slugs(path: Path) -> dict[str, str]:
    """Anchor a reader may use -> the anchor MkDocs gives the heading, for one Markdown file.

    The headings and their anchors are read by Python-Markdown's toc extension itself (as MkDocs renders the
    page); each is also reachable by the anchor GitHub would give it (lower case, punctuation dropped, each space
    a hyphen, ``-1``, ``-2`` for repeats), which is how a README's own links are usually written.
    """
    import html

    import markdown

    if not path.is_file():
        return {}
    md = markdown.Markdown(extensions=["attr_list", "toc", "tables", "fenced_code"])
    md.convert(path.read_text(encoding="utf-8"))
    out: dict[str, str] = {}
    github_used: dict[str, int] = {}

    def walk(tokens):
        for t in tokens:
            out.setdefault(t["id"], t["id"])
            text = re.sub(r"<[^>]+>", "", html.unescape(t["name"]))
            gh = re.sub(r"[^\w\- ]", "", text.strip().lower()).replace(" ", "-")
            n = github_used.get(gh, 0)
            github_used[gh] = n + 1
            out.setdefault(gh if n == 0 else f"{gh}-{n}", t["id"])
            walk(t["children"])

    walk(md.toc_tokens)
    return out


def resolve_anchor(path: Path, anchor: str) -> str | None:
    """The MkDocs anchor for ``anchor`` in the Markdown file ``path``, or None when no heading has it."""
    return heading_slugs(path).get(anchor)


def _split_code_spans(line: str):
    """Yield (text, is_code) pieces of one line, code spans being backtick runs closed by an equal run."""
    pos = 0
    for m in re.finditer(r"(`+)(.+?)(?<!`)\1(?!`)", line):
        if m.start() > pos:
            yield line[pos:m.start()], False
        yield m.group(0), True
        pos = m.end()
    if pos < len(line):
        yield line[pos:], False


def rewrite_links(text: str, readme: Path, page_uri: str, add_file) -> str:
    """Make the links of a case study README valid on its generated page.

    The rule, for each Markdown link or image ``[text](target)`` outside code (reference-style links too):

    1. a URL with a scheme (``https:``, ``mailto:``, ...) is kept as is;
    2. otherwise the target is resolved against the README's folder. If it is another case study's README or
       folder, the link points to that study's page; if it is a page under docs/, to that page; if it is an
       image file that exists in the repository, the image is copied into the site at the same path and shown.
       An ``#anchor`` is kept when it names a heading of the target page, as MkDocs spells it or as GitHub does
       (then respelt as MkDocs does); otherwise it is dropped (a link to an anchor of the README itself then
       becomes its plain text);
    3. anything else (source files, data, folders, missing files) becomes plain text: the link text followed by
       the target's path from the repository root in code, e.g. ``run.py`` -> ``run.py (`case_studies/x/run.py`)``,
       and an image that does not exist (yet) becomes ``(figure not generated yet: `path`)``.

    A link can therefore never break the strict build, and nothing outside the repository is linked to.
    """
    here = readme.parent

    def target_for(is_image: bool, target: str) -> str | None:
        """The rewritten link target relative to the page, or None for plain text."""
        if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", target):
            return target
        if target.startswith("#"):
            anchor = resolve_anchor(readme, target[1:])
            return None if anchor is None else f"#{anchor}"
        path, _, anchor = target.partition("#")
        path = path.split("?", 1)[0]
        if not path:
            return None
        resolved = (here / path).resolve()
        try:
            rel = resolved.relative_to(REPO).as_posix()
        except ValueError:
            return None
        page_dir = posixpath.dirname(page_uri)
        parts = rel.split("/")
        if (len(parts) in (2, 3) and parts[0] == "case_studies" and parts[1] in CASE_STUDIES
                and (len(parts) == 2 or parts[2].lower() == "readme.md")):
            other = REPO / "case_studies" / parts[1] / "README.md"
            slug = resolve_anchor(other, anchor) if anchor else None
            return posixpath.relpath(f"case_studies/{parts[1]}.md", page_dir) + (f"#{slug}" if slug else "")
        if parts[0] == "docs" and rel.endswith(".md") and resolved.is_file():
            slug = resolve_anchor(resolved, anchor) if anchor else None
            return posixpath.relpath(rel[len("docs/"):], page_dir) + (f"#{slug}" if slug else "")
        if is_image and resolved.is_file() and resolved.suffix.lower() in IMAGE_SUFFIXES:
            add_file(rel, resolved)
            return posixpath.relpath(rel, page_dir)
        return None

    def plain(is_image: bool, label: str, target: str) -> str:
        if target.startswith("#"):
            return label
        path = target.partition("#")[0]
        try:
            rel = (here / path).resolve().relative_to(REPO).as_posix()
        except ValueError:
            rel = path
        if is_image:
            return f"*(figure not generated yet: `{rel}`)*"
        bare = label.strip().strip("`")
        if bare in (path, rel, path.rstrip("/"), rel.rstrip("/")):
            return f"`{rel}`"
        return f"{label} (`{rel}`)"

    lines = text.splitlines()
    in_code = []   # per line: inside a fenced code block (or its fence)
    fence = None
    for line in lines:
        m = _FENCE.match(line)
        if m and fence is None:
            fence = m.group(1)[0]
            in_code.append(True)
        elif m and m.group(1)[0] == fence:
            fence = None
            in_code.append(True)
        else:
            in_code.append(fence is not None)
    refs = {m.group(1).lower(): m.group(2)   # reference definitions, [id]: target, wherever they are
            for line, code in zip(lines, in_code) if not code and (m := _REF_DEF.match(line))}

    out = []
    for line, code in zip(lines, in_code):
        if code:
            out.append(line)
            continue
        d = _REF_DEF.match(line)
        if d:   # the definition is dropped when its target cannot be linked: its uses become plain text
            new = target_for(False, d.group(2))
            out.append(f"[{d.group(1)}]: {new}" if new is not None else "")
            continue
        pieces = []
        for piece, is_code in _split_code_spans(line):
            if not is_code:
                def inline(m):
                    is_image, label, target = m.group(1) == "!", m.group(2), m.group(3)
                    new = target_for(is_image, target)
                    return plain(is_image, label, target) if new is None else f"{m.group(1)}[{label}]({new})"

                def ref_use(m):
                    is_image, label, key = m.group(1) == "!", m.group(2), (m.group(3) or m.group(2)).lower()
                    if key not in refs:
                        return m.group(0)
                    new = target_for(is_image, refs[key])
                    return plain(is_image, label, refs[key]) if new is None else m.group(0)

                piece = _REF_USE.sub(ref_use, _INLINE.sub(inline, piece))
            pieces.append(piece)
        out.append("".join(pieces))
    return "\n".join(out) + "\n"


def case_study_page(name: str, add_file) -> str:
    """The Markdown of one case study's page: its README, with a figure under the title and links rewritten."""
    folder = REPO / "case_studies" / name
    readme = folder / "README.md"
    page_uri = f"case_studies/{name}.md"
    title, preferred = CASE_STUDIES[name]
    source = f"`case_studies/{name}/README.md`"
    if not readme.is_file():
        return f"# {title}\n\nThis case study has no README yet ({source}).\n"
    body = rewrite_links(readme.read_text(encoding="utf-8"), readme, page_uri, add_file)
    figure = find_figure(folder, preferred)
    note = f"*This page is {source}, read when the site was built.*"
    if figure is None:
        block = f"{note}\n\n*This study has no figure yet.*"
    else:
        rel = figure.relative_to(REPO).as_posix()
        uri = posixpath.relpath(rel, "case_studies")
        if f"]({uri})" in body:   # the README shows this figure itself
            block = note
        else:
            add_file(rel, figure)
            block = f"{note}\n\n![{figure.name}]({uri})\n\n*Figure: `{rel}`.*"
    lines = body.splitlines()
    title_at = next((i for i, l in enumerate(lines) if l.startswith("# ")), None)
    if title_at is None:
        return f"# {title}\n\n{block}\n\n{body}"
    return "\n".join([*lines[:title_at + 1], "", block, "", *lines[title_at + 1:]]) + "\n"


# -- API reference ------------------------------------------------------------------------------------------------

#: page -> (title, the layer packages whose public names it shows)
REFERENCE = {
    "reference/core.md": ("Core", ("errors", "core")),
    "reference/inference.md": ("Inference", ("inference",)),
    "reference/posterior.md": ("Posterior", ("posterior",)),
    "reference/validation.md": ("Validation", ("validation",)),
    "reference/averaging.md": ("Averaging", ("averaging",)),
    "reference/plots.md": ("Plots", ("plots",)),
    "reference/report.md": ("Report", ("report",)),
}


def _layer(module: str) -> str:
    """bayeslaw.inference.fit -> inference; bayeslaw -> ''."""
    return module.split(".")[1] if "." in module else ""


def _module_ast(path: Path):
    import ast

    return ast.parse(path.read_text(encoding="utf-8"))


_ROWS: list[tuple[str, str, str]] = []


def public_names() -> list[tuple[str, str, str]]:
    """(how it is imported, defining module, name) for every public object of the package.

    Read from the source without importing it (importing bayeslaw.plots starts JAX and takes seconds): the
    ``_EXPORTS`` table of ``bayeslaw/__init__.py`` and the imports of ``bayeslaw/plots/__init__.py`` that its
    ``__all__`` names.
    """
    import ast

    src = REPO / "src" / "bayeslaw"
    exports = {}
    for node in _module_ast(src / "__init__.py").body:
        target = getattr(node, "target", None) or (node.targets[0] if isinstance(node, ast.Assign) else None)
        if isinstance(target, ast.Name) and target.id == "_EXPORTS":
            exports = eval(compile(ast.Expression(node.value), "_EXPORTS", "eval"), {"__builtins__": {}, "dict": dict})
    rows = [(f"bayeslaw.{name}", f"bayeslaw.{module}", name) for name, module in exports.items()]
    rows.append(("bayeslaw.example_data_path", "bayeslaw", "example_data_path"))
    tree = _module_ast(src / "plots" / "__init__.py")
    defined = {alias.asname or alias.name: f"bayeslaw.plots.{node.module}"
               for node in tree.body if isinstance(node, ast.ImportFrom) and node.level == 1
               for alias in node.names}
    names = next((ast.literal_eval(n.value) for n in tree.body if isinstance(n, ast.Assign)
                  and any(getattr(t, "id", None) == "__all__" for t in n.targets)), sorted(defined))
    rows += [(f"bayeslaw.plots.{name}", defined[name], name) for name in names if name in defined]
    return rows


def reference_page(title: str, layers: tuple[str, ...], rows) -> str:
    mine = [r for r in rows if _layer(r[1]) in layers]
    lines = [f"# {title}", ""]
    for layer in layers:
        if (REPO / "src" / "bayeslaw" / layer / "__init__.py").is_file():
            lines += [f"::: bayeslaw.{layer}", "    options:", "      members: false", "      show_root_heading: false",
                      ""]
    lines += ["| import as | defined in |", "|---|---|"]
    lines += [f"| [`{face}`](#{module}.{name}) | `{module}` |" for face, module, name in mine]
    lines.append("")
    for face, module, name in mine:
        lines += [f"::: {module}.{name}", ""]
    return "\n".join(lines)


def reference_index(rows) -> str:
    lines = ["# API reference", "",
             "Every public name, on the page of the layer that defines it. The package is laid out in layers, each "
             "importing only those below it: core, inference, posterior, validation, averaging, then plots and "
             "report, then the command line (`bayeslaw.cli`, see [the CLI reference](../cli.md)). "
             "`import bayeslaw` loads each name on first use, so `bayeslaw.fit` is "
             "`bayeslaw.inference.fit.fit`; both spellings are the same object.", "",
             "These pages are generated when the site is built from the package's table of public names "
             "(`_EXPORTS` in `src/bayeslaw/__init__.py`) and `bayeslaw.plots.__all__`, and the text is the "
             "docstrings (numpy style).", "",
             "| name | defined in | page |", "|---|---|---|"]
    for page, (title, layers) in REFERENCE.items():
        for face, module, name in rows:
            if _layer(module) in layers:
                lines.append(f"| [`{face}`]({posixpath.basename(page)}#{module}.{name}) | `{module}` | {title} |")
    paged = {layer for _, layers in REFERENCE.values() for layer in layers}
    here = [(face, module, name) for face, module, name in rows if _layer(module) not in paged]   # the top level,
    for face, module, name in here:                                                               # or a new layer
        lines.append(f"| [`{face}`](#{module}.{name}) | `{module}` | this page |")
    lines += ["", "::: bayeslaw", "    options:", "      members: false", "      show_root_heading: false", ""]
    lines += [f"::: {module}.{name}\n" for face, module, name in here]
    return "\n".join(lines)


# -- Sphinx roles in docstrings ----------------------------------------------------------------------------------

_ROLE = re.compile(r":(?:py:)?(?:func|class|meth|mod|attr|data|obj|exc|const):<code>(~?)([\w.\s]+?)(\(\))?</code>")


def roles_to_links(html: str, rows) -> str:
    """Docstrings cite objects as Sphinx roles (``:func:`bayeslaw.fit```); show them as code linked to the reference.

    The role is dropped, ``~a.b.c`` shows ``c`` as Sphinx does, and a public name (``bayeslaw.fit``, ``fit``,
    ``bayeslaw.Fit.save``) links to its entry through the defining module's path. The links are mkdocs-autorefs'
    optional ones: a name the reference does not document stays plain code and warns about nothing.
    """
    faces = {}
    for face, module, name in rows:
        faces[face] = f"{module}.{name}"
        faces.setdefault(name, f"{module}.{name}")

    def sub(m):
        tilde, name, call = m.group(1), re.sub(r"\s+", "", m.group(2)), m.group(3) or ""
        shown = (name.rsplit(".", 1)[-1] if tilde else name) + call
        ident = faces.get(name)
        if ident is None:   # bayeslaw.Fit.save -> bayeslaw.inference.result.Fit.save
            for face, full in faces.items():
                if name.startswith(face + ".") and face.count(".") >= 1:
                    ident = full + name[len(face):]
                    break
        ident = ident or name
        return f'<autoref identifier="{ident}" optional><code>{shown}</code></autoref>'

    return _ROLE.sub(sub, html)


def on_page_content(html: str, page, config, files) -> str:
    return roles_to_links(html, _ROWS) if ":" in html else html


# -- the hook -----------------------------------------------------------------------------------------------------


def on_files(files: Files, config) -> Files:
    def add_file(rel: str, path: Path) -> None:
        if files.get_file_from_path(rel) is None:
            files.append(File.generated(config, rel, abs_src_path=str(path)))

    for name in CASE_STUDIES:
        files.append(File.generated(config, f"case_studies/{name}.md", content=case_study_page(name, add_file)))
    rows = public_names()
    _ROWS[:] = rows
    files.append(File.generated(config, "reference/index.md", content=reference_index(rows)))
    for page, (title, layers) in REFERENCE.items():
        files.append(File.generated(config, page, content=reference_page(title, layers, rows)))
    return files
