"""The one Markdown reader behind the site, the PDF, `modelbook show` and `modelbook quiz`.

Two things plain CommonMark gets wrong for this handbook, fixed here once for every place that shows an entry:

* Emphasis next to Chinese punctuation. CommonMark's flanking rule leaves `**分组查询注意力（GQA）**让` as literal
  asterisks: the closing `**` follows a punctuation mark (`）`) and precedes a letter (`让`). Following the idea of
  the CJK-friendly amendment to CommonMark (tats-u/markdown-cjk-friendly), a CJK character beside a run of `*`
  or `_` counts as punctuation where that lets the run open or close, and never where it would stop it; text
  without CJK characters parses exactly as before.
* Formulas. Most formulas in the entries are plain Unicode (√ᾱ_t·x₀, Σᵢ‖gᵢ‖²) and stay so. A formula written as
  LaTeX between dollars, `$\\sqrt{\\bar\\alpha_t}\\,x_0$` (or `$$...$$` for a displayed one), becomes MathML in
  the site (latex2mathml, at build time) and readable Unicode (√ᾱₜ x₀) in the terminal and in the PDF (WeasyPrint
  does not lay out MathML). An opening `$` must be followed, and a closing one preceded, by a non-space; a `$`
  followed by a digit is money, never a formula (write `${2^{16}}$`), so "$5 to $10" stays text; `\\$` is a
  literal dollar.

Raw HTML stays disabled: `<script>` in a topic file is shown as text.
"""
from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

_CJK = re.compile("[\u2e80-\u2fff\u3000-\u303f\u3040-\u30ff\u3100-\u312f\u3200-\u33ff\u3400-\u4dbf\u4e00-\u9fff"
                  "\uf900-\ufaff\ufe30-\ufe4f\uff00-\uffef\U00020000-\U0002fa1f]")


def _is_cjk(ch: str) -> bool:
    return bool(_CJK.match(ch))


# -- the parser ----------------------------------------------------------------------------------------------
def _scan_delims_cjk(state, start: int, can_split_word: bool):
    """StateInline.scanDelims with CJK characters as punctuation where that helps a run open or close."""
    from markdown_it.common.utils import isMdAsciiPunct, isPunctChar, isWhiteSpace
    from markdown_it.rules_inline.state_inline import Scanned

    pos, maximum, marker = start, state.posMax, state.src[start]
    last = state.src[start - 1] if start > 0 else " "
    while pos < maximum and state.src[pos] == marker:
        pos += 1
    nxt = state.src[pos] if pos < maximum else " "

    def punct(ch: str) -> bool:
        return isMdAsciiPunct(ord(ch)) or isPunctChar(ch)

    last_cjk, next_cjk = _is_cjk(last), _is_cjk(nxt)
    last_punct, next_punct = punct(last), punct(nxt)
    last_ws, next_ws = isWhiteSpace(ord(last)), isWhiteSpace(ord(nxt))
    # CommonMark's rule, with a CJK character on the far side counting as punctuation (it lets the run open or
    # close); without CJK characters on either side this is CommonMark exactly
    last_allow, next_allow = last_punct or last_cjk, next_punct or next_cjk
    left = not next_ws and (not next_punct or last_ws or last_allow)
    right = not last_ws and (not last_punct or next_ws or next_allow)
    can_open = left and (can_split_word or not right or last_allow)
    can_close = right and (can_split_word or not left or next_allow)
    return Scanned(can_open, can_close, pos - start)


def _math_rule(state, silent: bool) -> bool:
    """`$...$` (inline) and `$$...$$` (display) -> a math_inline token holding the LaTeX."""
    src, pos = state.src, state.pos
    if src[pos] != "$":
        return False
    display = src.startswith("$$", pos)
    fence = "$$" if display else "$"
    begin = pos + len(fence)
    if begin >= state.posMax or src[begin].isspace() or (not display and (src[begin] == "$" or src[begin].isdigit())):
        return False
    end = begin
    while True:  # the first unescaped dollar (pair) closes, or nothing does: "$5 to $10" stays text
        end = src.find(fence, end)
        if end < 0 or end >= state.posMax:
            return False
        if src[end - 1] != "\\":
            break
        end += 1
    after = end + len(fence)
    if src[end - 1].isspace() or (not display and after < state.posMax and src[after].isdigit()):
        return False
    if end == begin:
        return False
    if not silent:
        token = state.push("math_inline", "math", 0)
        token.content = src[begin:end]
        token.markup = fence
        token.meta = {"display": display}
    state.pos = end + len(fence)
    return True


@lru_cache(maxsize=None)
def _state_class():
    from markdown_it.rules_inline.state_inline import StateInline

    class CjkStateInline(StateInline):
        def scanDelims(self, start, canSplitWord):  # noqa: N802, N803 (markdown-it's names)
            return _scan_delims_cjk(self, start, canSplitWord)

    return CjkStateInline


def _cjk_inline_parser(md):
    from markdown_it.parser_inline import ParserInline

    state_class = _state_class()

    class CjkParserInline(ParserInline):
        def parse(self, src, md, env, tokens):
            state = state_class(src, md, env, tokens)
            self.tokenize(state)
            for rule in self.ruler2.getRules(""):
                rule(state)
            return state.tokens

    inline = CjkParserInline()
    inline.ruler, inline.ruler2 = md.inline.ruler, md.inline.ruler2  # keep the preset's rules
    return inline


def parser(math: str = "mathml"):
    """A markdown-it parser: CommonMark + tables (+ strikethrough), CJK-friendly emphasis, $math$, no raw HTML.

    math: "mathml" renders $...$ as MathML, "unicode" as plain Unicode text (the PDF)."""
    from markdown_it import MarkdownIt

    md = MarkdownIt("commonmark", {"html": False, "typographer": False}).enable("table").enable("strikethrough")
    md.inline = _cjk_inline_parser(md)
    md.inline.ruler.before("escape", "math_inline", _math_rule)
    md.add_render_rule("math_inline", _render_mathml if math == "mathml" else _render_unicode)
    return md


def _render_mathml(self, tokens, idx, options, env) -> str:
    token = tokens[idx]
    return latex_to_mathml(token.content, token.meta.get("display", False))


def _render_unicode(self, tokens, idx, options, env) -> str:
    from markdown_it.common.utils import escapeHtml

    token = tokens[idx]
    cls = "math display" if token.meta.get("display") else "math"
    return f'<span class="{cls}">{escapeHtml(latex_to_unicode(token.content))}</span>'


def to_html(text: str, math: str = "mathml") -> str:
    return _cached_parser(math).render(text)


@lru_cache(maxsize=None)
def _cached_parser(math: str):
    return parser(math)


def latex_to_mathml(latex: str, display: bool = False) -> str:
    """MathML for the browser; a formula latex2mathml cannot read is shown as its Unicode reading, marked."""
    from markdown_it.common.utils import escapeHtml

    try:
        from latex2mathml.converter import convert

        return convert(latex, display="block" if display else "inline")
    except Exception:  # noqa: BLE001 (latex2mathml raises many kinds; the page must still build)
        return f'<span class="math unparsed" title="{escapeHtml(latex)}">{escapeHtml(latex_to_unicode(latex))}</span>'


# -- the terminal --------------------------------------------------------------------------------------------
def terminal(text: str, **kwargs):
    """A rich renderable of `text`, parsed as the site parses it; $math$ shown as Unicode."""
    from rich.markdown import Markdown

    class _Markdown(Markdown):
        def __init__(self, markup: str, **kw) -> None:
            super().__init__("", **kw)
            self.markup = markup
            self.parsed = _unicode_math(_cached_parser("mathml").parse(markup))

    return _Markdown(text, **kwargs)


def _unicode_math(tokens):
    """rich knows no math tokens: make each a text token holding the formula's Unicode reading."""
    for token in tokens:
        for child in token.children or ():
            if child.type == "math_inline":
                child.type, child.tag, child.content = "text", "", latex_to_unicode(child.content)
    return tokens


# -- LaTeX -> readable Unicode (a modest subset: what an interview formula uses) -----------------------------
GREEK = {
    "alpha": "α", "beta": "β", "gamma": "γ", "delta": "δ", "epsilon": "ε", "varepsilon": "ε", "zeta": "ζ", "eta": "η",
    "theta": "θ", "vartheta": "ϑ", "iota": "ι", "kappa": "κ", "lambda": "λ", "mu": "μ", "nu": "ν", "xi": "ξ", "pi": "π",
    "rho": "ρ", "sigma": "σ", "tau": "τ", "upsilon": "υ", "phi": "φ", "varphi": "φ", "chi": "χ", "psi": "ψ", "omega": "ω",
    "Gamma": "Γ", "Delta": "Δ", "Theta": "Θ", "Lambda": "Λ", "Xi": "Ξ", "Pi": "Π", "Sigma": "Σ", "Phi": "Φ", "Psi": "Ψ",
    "Omega": "Ω",
}
SYMBOLS = {
    **GREEK, "cdot": "·", "times": "×", "div": "÷", "pm": "±", "mp": "∓", "le": "≤", "leq": "≤", "ge": "≥", "geq": "≥",
    "ne": "≠", "neq": "≠", "approx": "≈", "sim": "∼", "simeq": "≃", "equiv": "≡", "propto": "∝", "infty": "∞",
    "in": "∈", "notin": "∉", "subset": "⊂", "subseteq": "⊆", "cup": "∪", "cap": "∩", "forall": "∀", "exists": "∃",
    "sum": "Σ", "prod": "Π", "int": "∫", "partial": "∂", "nabla": "∇", "to": "→", "rightarrow": "→", "leftarrow": "←",
    "Rightarrow": "⇒", "mapsto": "↦", "leftrightarrow": "↔", "gets": "←", "top": "⊤", "perp": "⊥", "circ": "∘",
    "odot": "⊙", "oplus": "⊕", "otimes": "⊗", "ldots": "…", "cdots": "⋯", "dots": "…", "lVert": "‖", "rVert": "‖",
    "Vert": "‖", "|": "‖", "mid": "|", "vert": "|", "langle": "⟨", "rangle": "⟩", "ell": "ℓ", "star": "⋆", "ast": "∗",
    "{": "{", "}": "}", "%": "%", "$": "$", "#": "#", "&": "&", "_": "_", "lfloor": "⌊", "rfloor": "⌋", "lceil": "⌈",
    "rceil": "⌉", "neg": "¬", "land": "∧", "lor": "∨", "emptyset": "∅", "sqrt": "√", "prime": "′",
    ",": " ", ";": " ", ":": " ", "quad": "  ", "qquad": "   ", "!": "", " ": " ", "left": "", "right": "",
    "big": "", "Big": "", "bigg": "", "Bigg": "", "displaystyle": "", "limits": "", "nolimits": "",
}
FUNCTIONS = {"log", "ln", "exp", "sin", "cos", "tan", "tanh", "max", "min", "arg", "argmax", "argmin", "sup", "inf", "lim",
             "det", "dim", "softmax", "Pr", "KL", "E", "Var", "Cov", "sign", "diag", "tr", "mod"}
STYLES = {"mathrm", "text", "mathbf", "mathit", "mathsf", "mathtt", "operatorname", "boldsymbol", "mathcal", "mathbb",
          "textrm", "textbf", "textit", "mbox", "bm"}
ACCENTS = {"bar": "\u0304", "overline": "\u0305", "hat": "\u0302", "widehat": "\u0302", "tilde": "\u0303",
           "widetilde": "\u0303", "vec": "\u20d7", "dot": "\u0307", "ddot": "\u0308"}
SUP = dict(zip("0123456789+−=()nitTaeoxkjdlmrsuvwpbcfghABDEGHIJKLMNOPRUVW⊤′∗*",
               "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁼⁽⁾ⁿⁱᵗᵀᵃᵉᵒˣᵏʲᵈˡᵐʳˢᵘᵛʷᵖᵇᶜᶠᵍʰᴬᴮᴰᴱᴳᴴᴵᴶᴷᴸᴹᴺᴼᴾᴿᵁⱽᵂᵀ′**"))
SUB = dict(zip("0123456789+−=()aeoxhklmnpstijruvβγρφχ", "₀₁₂₃₄₅₆₇₈₉₊₋₌₍₎ₐₑₒₓₕₖₗₘₙₚₛₜᵢⱼᵣᵤᵥᵦᵧᵨᵩᵪ"))
_OPERATORS = set(" +-−·×/÷=<>≤≥≈,")


class _Latex:
    def __init__(self, src: str) -> None:
        self.src, self.pos = src, 0

    def peek(self) -> str:
        return self.src[self.pos] if self.pos < len(self.src) else ""

    def command(self) -> str:
        self.pos += 1  # the backslash
        start = self.pos
        while self.pos < len(self.src) and self.src[self.pos].isalpha():
            self.pos += 1
        if self.pos == start and self.pos < len(self.src):
            self.pos += 1  # \, \{ \| ...
        return self.src[start:self.pos]

    def expr(self, stop: str = "") -> str:
        out: list[str] = []
        while self.pos < len(self.src) and self.peek() not in stop:
            ch = self.peek()
            if ch.isspace():  # kept as one space: the writer's spacing reads better than none
                self.pos += 1
                out.append(" ")
            elif ch in "^_":
                self.pos += 1
                arg = self.atom()
                table = SUP if ch == "^" else SUB
                if arg and all(c in table for c in arg):
                    out.append("".join(table[c] for c in arg))
                elif len(arg) == 1:
                    out.append(ch + arg)
                else:
                    out.append(f"{ch}({arg})")
            else:
                out.append(self.atom())
        return "".join(out)

    def group(self) -> str:
        """{...} -> its reading; a single token otherwise."""
        return self.atom()

    def optional(self) -> str | None:
        if self.peek() != "[":
            return None
        self.pos += 1
        inner = self.expr("]")
        self.pos += 1
        return inner

    def atom(self) -> str:
        while self.peek().isspace():
            self.pos += 1
        ch = self.peek()
        if not ch:
            return ""
        if ch == "{":
            self.pos += 1
            inner = self.expr("}")
            self.pos += 1
            return " ".join(inner.split())
        if ch == "\\":
            name = self.command()
            if name in ("frac", "dfrac", "tfrac"):
                num, den = self.group(), self.group()
                return f"{_wrap(num)}/{_wrap(den)}"
            if name == "sqrt":
                root = self.optional()
                arg = self.group()
                sign = {"3": "∛", "4": "∜"}.get(root or "", (_sup(root) + "√") if root else "√")
                return sign + (arg if _simple(arg) else f"({arg})")
            if name in ACCENTS:
                arg = self.group()
                return "".join(c + ACCENTS[name] for c in arg) if len(arg) <= 2 else f"{name}({arg})"
            if name in STYLES:
                return self.group()
            if name in FUNCTIONS:
                return name
            if name in SYMBOLS:
                return SYMBOLS[name]
            return name  # an unknown command: its name, readable
        self.pos += 1
        return {"'": "′", "-": "−", "~": " "}.get(ch, "" if ch in "}" else ch)


def _sup(text: str) -> str:
    return "".join(SUP.get(c, c) for c in text)


def _simple(text: str) -> bool:
    return not any(c in _OPERATORS for c in text)


def _wrap(text: str) -> str:
    return text if _simple(text) or (text.startswith("(") and text.endswith(")")) else f"({text})"


def latex_to_unicode(latex: str) -> str:
    """`\\frac{QK^\\top}{\\sqrt{d_k}}` -> `QKᵀ/√dₖ`: a readable plain-text reading of a LaTeX formula."""
    text = _Latex(latex).expr()
    text = re.sub(r" *([=≤≥≈≠→⇒∝<>]) *", r" \1 ", text)  # relations read best with a space either side
    return unicodedata.normalize("NFC", re.sub(r" {2,}", " ", text).strip())  # α + U+0304 -> ᾱ
