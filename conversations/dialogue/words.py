"""The word readers: yes/no, choices, serology, lists and checklists as physicians type them (issue 12).

Pure functions over the answer's text, no I/O. Each returns a value, a ``Reading`` (not known, or a value
with notes for the echo) or raises ``AnswerError`` with a reprompt that says what is needed. The rule
throughout: read what the answer says, and ask back rather than guess. A comment after the answer ("no,
normal") is no fact; a comment that may change the answer ("yes, but ...") is asked about.
"""

from __future__ import annotations

import re
import unicodedata

from .answers import (
    NO_WORDS,
    NONE_WORDS,
    UNKNOWN_WORDS,
    YES_WORDS,
    AnswerError,
    Choice,
    Reading,
    match_choice,
    normalise,
    short_label,
)
from .messages import M, Message, msg

MAX_QUOTED = 40


def clean(text: str) -> str:
    """The answer normalised, with every dash one "-" and no trailing full stop or exclamation mark."""
    t = normalise(text)
    t = re.sub("[\u2010\u2011\u2012\u2013\u2014\u2212]", "-", t)
    return t.strip(" .!")


def _words(*phrases: str) -> re.Pattern[str]:
    """Any of ``phrases`` as whole words (longest first); CJK phrases match anywhere."""
    alts = sorted(phrases, key=len, reverse=True)
    return re.compile("|".join(p if not p[:1].isascii() else rf"(?<![\w]){re.escape(p)}(?![\w])" for p in alts))


def as_typed(piece: str, text: str) -> str:
    """A piece of the cleaned answer as the physician typed it ("VII", not "vii"), to quote it back."""
    typed = " ".join(unicodedata.normalize("NFKC", text).split())
    m = re.search(re.escape(piece), typed, re.IGNORECASE)
    return m.group(0) if m and m.group(0).lower() == piece else piece


# ---- not known ----------------------------------------------------------------------------------------

_RESULT_WORD = re.compile(r"(?<![\w])(?:yes|no|none|positive|negative|pos|neg|reactive|non-reactive|detected|"
                          r"normal|abnormal|low|high|present|absent|\+|class|[ivx]+)(?![\w])")
_PENDING_TAIL = re.compile(
    r"(?:^|\s)(?:is |are |still |results? )?(?:pending|awaited|outstanding|in progress|sent|requested|"
    r"not (?:yet )?(?:done|tested|checked|rechecked|repeated|measured|assessed|performed|available|back|known|"
    r"sent)|unknown|not known|unclear|uncertain|to be (?:done|checked|repeated|confirmed))(?: yet)?$")
_UNKNOWN_LEAD = re.compile(r"^(?:awaiting|waiting for|pending|not sure|unsure|don't know|do not know|dunno|no idea|"
                           r"not to my knowledge|not that i know(?: of)?|not aware)(?:\s[^,;]*)?$")


def means_unknown(t: str) -> bool:
    """The whole answer says "not known": a word for it, or a test or finding still to come ("renal biopsy
    awaited", "dsDNA not rechecked"), with nothing else said."""
    t = t.strip(" .!")
    if t in UNKNOWN_WORDS:
        return True
    if re.search(r"[,;]", t):
        return False
    if _UNKNOWN_LEAD.match(t):
        return True
    m = _PENDING_TAIL.search(t)
    return bool(m) and not _RESULT_WORD.search(t[: m.start()])


# ---- yes / no -----------------------------------------------------------------------------------------

CJK_YES = frozenset({"是", "有", "是的"})
CJK_NO = frozenset({"否", "无", "没有", "無"})
_YES_LEADS = ("yes", "yeah", "yep", "y", "true", "present", "positive")
_NO_LEADS = ("no", "nope", "n", "false", "absent", "negative")
_CONNECTIVES = ("since", "for", "from", "at", "in", "on", "as", "after", "until", "during", "with", "per",
                "because", "never")
_LEAD = re.compile(rf"^({'|'.join(_YES_LEADS + _NO_LEADS)})(?:\s*[,;:()\[\]/-]+\s*|\s+(?=(?:"
                   rf"{'|'.join(_CONNECTIVES)})\b))(.+)$")
_CONTRAST = re.compile(r"(?<![\w])(?:but|except|apart from|however|although|though|unless|maybe|possibly|probably|"
                       r"perhaps|likely|unsure|not sure|unclear|uncertain|suspected|query|pending|awaited|to be "
                       r"confirmed|tbc|partial|partially|not yet)(?![\w])|\?")

# Yes/no questions that ask whether a condition or finding is present: "none", "no known …" read as no.
CONDITION_QUESTIONS = frozenset({
    "intolerant_to_conventional", "cns_lupus", "refractory_cytopenia", "other_major_organ", "steroid_dependent",
    "ecg_significant_abnormality", "severe_lung_disease",
})
_NORMAL = {
    "ecg_significant_abnormality": re.compile(
        r"^(?:(?:ecg|ekg)\s+)?(?:normal|unremarkable|wnl|within normal limits|nad|nsr|normal sinus rhythm|sinus rhythm|"
        r"no (?:significant )?abnormalit(?:y|ies)|nothing significant)(?:\s+(?:ecg|ekg))?$"),
    "severe_lung_disease": re.compile(
        r"^(?:(?:lungs?|ct|hrct|chest ct|cxr|chest x-?ray|pft|lung function)\s+)?(?:normal|unremarkable|clear|wnl|"
        r"within normal limits|no (?:significant )?abnormalit(?:y|ies))(?:\s+(?:ct|hrct|cxr|chest x-?ray))?$"),
}
_NONE_CONDITION = re.compile(r"^(?:none|nil|not present|no evidence(?: of .+)?|no known .+|none known)$")

_LLDAS_NOT = re.compile(
    r"never (?:reached|achieved|attained|been in|in|got|had)|not (?:yet )?(?:in|reached|achieved|attained)|"
    r"no longer|(?<![\w])flar(?:e|es|ed|ing)(?![\w])|relaps(?:e|es|ed|ing)|(?<![\w])active(?![\w])|"
    r"(?<![\w])lost(?![\w])|refractory|ongoing (?:activity|disease)|no (?:lldas|clldas|remission|response)|"
    r"non-?responder|did not respond|not responding")
_LLDAS_IN = re.compile(
    r"(?<![\w])in (?:complete |clinical |full |sustained )?(?:remission|lldas|clldas)(?![\w])|"
    r"(?:lldas|clldas|remission) (?:now|currently|maintained)|(?<![\w])inactive(?![\w])|quiescent|"
    r"^(?:lldas|clldas|remission|complete remission)$")

_MENARCHE_NO = re.compile(
    r"pre-?menarch\w*|pre-?pubert\w*|no (?:periods?|menses|menarche)|not (?:yet )?(?:menstruating|started)|"
    r"not (?:yet )?(?:had |reached )?(?:her )?(?:menarche|periods?|menses)|"
    r"(?:periods?|menses|menarche) (?:has |have )?not (?:yet )?(?:started|begun|reached|occurred)|"
    r"(?:has|have)n't (?:started|begun|had)")
_MENARCHE_YES = re.compile(
    r"post-?menarch\w*|(?<![\w])(?:periods?|menses|menstruation|menarche|menstruating|menstruates)(?![\w])")

_APHERESIS_YES = re.compile(
    r"^(?:nothing against(?: it)?|no (?:known )?contra-?indications?(?: to (?:it|apheresis|leukapheresis|pbmc "
    r"collection))?|suitable|fit(?: for (?:it|apheresis|leukapheresis))?|no objections?|eligible(?: for "
    r"(?:it|apheresis|leukapheresis))?)$")
_APHERESIS_NO = re.compile(r"^(?:not suitable|unsuitable|unfit|not fit|contra-?indicated)(?:\s[^,;]*)?$")

_HCQ = re.compile(r"^(?:on |taking |takes |received |had |given )?(?:hcq|hydroxychloroquine|plaquenil|羟氯喹)"
                  r"(?:\s+(?:since|for|from|\d)[^,;]*)?$")

_TITRE = re.compile(r"(?<![\d])1\s*[:/]\s*(\d{2,5})(?!\d)")


def read_yes_no(text: str, qid: str = "") -> bool | Reading:
    t = clean(text)
    if t in YES_WORDS or t in CJK_YES:
        return True
    if t in NO_WORDS or t in CJK_NO:
        return False
    special = _SPECIAL_YES_NO.get(qid)
    if special is not None:
        value = special(t)
        if value is not None:
            return value
    if means_unknown(t):
        return Reading(unknown=True)
    m = _LEAD.match(t)
    if m:
        lead, comment = m.groups()
        value = lead in _YES_LEADS
        first = comment.split()[0].strip(",.;:") if comment.split() else ""
        if _CONTRAST.search(comment) or first in (NO_WORDS if value else YES_WORDS):
            raise AnswerError(msg(M.YES_NO_COMMENT_UNCLEAR, answer="yes" if value else "no"))
        return value
    if t == "never" or (t.startswith("never ") and not _CONTRAST.search(t)):
        return False
    if qid in CONDITION_QUESTIONS and _NONE_CONDITION.match(t) and not _CONTRAST.search(t):
        return False
    raise AnswerError(msg(M.YES_NO_EXPECTED))


def _normal_means_no(qid: str):
    def read(t: str) -> bool | None:
        return False if _NORMAL[qid].match(t) else None
    return read


def _in_lldas(t: str) -> bool | None:
    """"Is the child in LLDAS or remission now?": whatever the yes or no, a comment that says the child is
    not in it now ("yes - never reached LLDAS", "responded at first, active again now") decides."""
    t = re.sub(r"^(?:yes|no|y|n)\b[\s,;:.-]*", "", t) if t not in ("yes", "no", "y", "n") else t
    not_in = _LLDAS_NOT.search(t)
    rest = _LLDAS_NOT.sub(" ", t)
    is_in = _LLDAS_IN.search(rest)
    if not_in and is_in:
        raise AnswerError(msg(M.YES_NO_BOTH))
    if not_in:
        if re.search(r"partial|\?|maybe|possibly|probably|unsure|not sure", t):
            raise AnswerError(msg(M.YES_NO_BOTH))
        return False
    if is_in and not re.search(r"partial|\?|maybe|possibly|probably|unsure|not sure|but|except", t):
        return True
    return None


def _menarche(t: str) -> bool | None:
    no = _MENARCHE_NO.search(t)
    yes = _MENARCHE_YES.search(_MENARCHE_NO.sub(" ", t))
    if no and yes:
        raise AnswerError(msg(M.YES_NO_BOTH))
    if (no or yes) and re.search(r"\?|maybe|possibly|probably|unsure|not sure|irregular spotting", t):
        raise AnswerError(msg(M.YES_NO_COMMENT_UNCLEAR, answer="yes" if yes else "no"))
    return False if no else True if yes else None


def _apheresis(t: str) -> bool | None:
    if _APHERESIS_YES.match(t):
        return True
    if _APHERESIS_NO.match(t):
        return False
    return None


def _hcq(t: str) -> bool | None:
    return True if _HCQ.match(t) else None


def _ana(t: str) -> bool | None:
    """"ANA strongly positive, 1:2560": the highest titre decides; without one, the words do."""
    titres = [int(x) for x in _TITRE.findall(t)]
    if titres:
        if max(titres) >= 80:
            return True
        raise AnswerError(msg(M.ANA_TITRE_LOW, titre=str(max(titres))))
    rest = re.sub(r"(?<![\w])(?:ana|ana hep-?2|hep-?2|anf)(?![\w])", " ", t).strip(" ,:;-")
    if re.search(r"weak(?:ly)?|low(?:-| )?(?:titre|titer|positive)|borderline|equivocal", rest):
        raise AnswerError(msg(M.ANA_TITRE_NEEDED))
    if re.fullmatch(r"(?:strongly |strong |clearly |highly )?(?:positive|pos|\+|\+\+|\+\+\+|reactive)"
                    r"(?: ever)?|(?:was |has been )?positive(?: ever| before| once)?", rest):
        return True
    if re.fullmatch(r"(?:always |persistently )?(?:negative|neg|-|never positive)", rest):
        return False
    return None


_SPECIAL_YES_NO = {
    "target_not_reached": _in_lldas,
    "childbearing_potential": _menarche,
    "apheresis_suitable": _apheresis,
    "hcq": _hcq,
    "eular_acr_2019.ana_ge_1_80": _ana,
    "ecg_significant_abnormality": _normal_means_no("ecg_significant_abnormality"),
    "severe_lung_disease": _normal_means_no("severe_lung_disease"),
}


# ---- choices ------------------------------------------------------------------------------------------

EXTRA_ALIASES: dict[str, tuple[str, ...]] = {
    "female": ("girl", "a girl", "女", "女性"), "male": ("boy", "a boy", "男", "男性"),
    "prednisone": ("prednison", "泼尼松", "deltasone"),
    "prednisolone": ("prednisolon", "泼尼松龙", "pred sol"),
    "methylprednisolone": ("ivmp", "iv mp", "methylpred", "methyl prednisolone", "solu-medrol", "mpd",
                           "甲泼尼龙", "甲强龙", "mp pulses", "methylprednisolone pulses"),
    "dexamethasone": ("地塞米松", "decadron"),
    "hydrocortisone": ("氢化可的松", "solu-cortef"),
}
_CHOICE_FILLER = re.compile(r"(?<![\w])(?:the|a|an|patient|pt|child|kid|is|she|he|iv|i\.v\.|intravenous|oral|po|"
                            r"pulses?|tablets?|infusions?)(?![\w])")


def _extra(token: str, choices: tuple[Choice, ...]) -> Choice | None:
    for c in choices:
        if token in EXTRA_ALIASES.get(c.value, ()):
            return c
    return None


def match(token: str, choices: tuple[Choice, ...]) -> Choice | None:
    """A choice by code, label, number or alias, with the words around it that name nothing left out
    ("male patient", "IV methylprednisolone pulses")."""
    t = clean(token)
    c = match_choice(t, choices) or _extra(t, choices)
    if c is None:
        bare = " ".join(_CHOICE_FILLER.sub(" ", t).split())
        if bare and bare != t:
            c = match_choice(bare, choices) or _extra(bare, choices)
    return c


def read_choice(text: str, qid: str, choices: tuple[Choice, ...]) -> str | Reading:
    if qid in SEROLOGY_ASKED:
        return read_serology(text, qid, choices)
    c = match(text, choices)
    if c is None:
        if means_unknown(clean(text)):
            return Reading(unknown=True)
        raise AnswerError(msg(M.CHOICE_EXPECTED, choices=[[i, ch.label] for i, ch in enumerate(choices, 1)]))
    return c.value


# ---- serology -----------------------------------------------------------------------------------------

# The test each serology question asks for; a test named that is not it is asked about.
SEROLOGY_ASKED = {
    "hbsag": "hbsag", "hbcab": "hbcab", "hbv_dna": "hbv_dna", "hcv_ab": "hcv_ab", "hcv_rna": "hcv_rna",
    "hiv_ab": "hiv_ab", "syphilis": "treponemal", "cmv_dna": "cmv_dna",
}
_NUCLEIC = frozenset({"hbv_dna", "hcv_rna", "cmv_dna"})
TESTS: dict[str, tuple[str, ...]] = {
    "hbsag": ("hbsag", "hbs ag", "hbs-ag", "hbs antigen", "hepatitis b surface antigen", "surface antigen",
              "australia antigen", "乙肝表面抗原"),
    "hbsab": ("hbsab", "hbs ab", "hbs-ab", "anti-hbs", "anti hbs", "antihbs", "hbs antibody", "hbs antibodies",
              "surface antibody", "hepatitis b surface antibody", "乙肝表面抗体"),
    "hbcab": ("hbcab", "hbc ab", "hbc-ab", "anti-hbc", "anti hbc", "antihbc", "hbc antibody", "core antibody",
              "hepatitis b core antibody", "anti-hbc igg", "anti-hbc total", "hbcab igg", "乙肝核心抗体"),
    "hbeag": ("hbeag", "hbe ag", "hbe antigen"),
    "hbeab": ("hbeab", "anti-hbe", "anti hbe", "hbe antibody"),
    "hbv_dna": ("hbv dna", "hbv-dna", "hbvdna", "hbv pcr", "hbv viral load", "hbv vl", "hepatitis b dna",
                "hbv nat"),
    "hcv_ab": ("hcv ab", "hcv-ab", "hcvab", "anti-hcv", "anti hcv", "hcv antibody", "hcv antibodies",
               "hcv serology"),
    "hcv_rna": ("hcv rna", "hcv-rna", "hcvrna", "hcv pcr", "hcv viral load", "hcv vl", "hcv nat"),
    "hiv_ab": ("hiv ab", "hiv-ab", "hiv antibody", "hiv antibodies", "anti-hiv", "hiv 1/2", "hiv-1/2", "hiv1/2",
               "hiv ag/ab", "hiv combo", "hiv serology", "hiv elisa", "hiv"),
    "hiv_rna": ("hiv rna", "hiv-rna", "hiv pcr", "hiv viral load", "hiv vl"),
    "treponemal": ("tppa", "tp-pa", "tpha", "fta-abs", "fta abs", "treponemal", "treponema", "tp ab", "tp-ab",
                   "tpab", "anti-tp", "syphilis eia", "syphilis clia", "syphilis igg", "syphilis antibody",
                   "syphilis antibodies", "eia", "clia", "cmia", "syphilis", "梅毒"),
    "non_treponemal": ("vdrl", "rpr", "non-treponemal", "nontreponemal", "reagin"),
    "cmv_dna": ("cmv dna", "cmv-dna", "cmvdna", "cmv pcr", "cmv qpcr", "cmv viral load", "cmv vl", "cmv nat"),
    "cmv_serology": ("cmv serology", "cmv igg", "cmv igm", "cmv ab", "cmv antibody", "cmv antibodies", "anti-cmv",
                     "cmv-igg", "cmv-igm", "cmv iga"),
    # A virus named without its test: which test is meant cannot be told.
    "ambiguous": ("cmv", "hbv", "hcv", "hepatitis b", "hep b", "hepatitis c", "hep c", "乙肝", "丙肝"),
}
_TEST_PATTERNS = [(code, _words(*phrases)) for code, phrases in TESTS.items() if code != "ambiguous"]
_AMBIGUOUS = _words(*TESTS["ambiguous"])

_NEG = re.compile(
    r"(?<![\w])non-?reactive|not reactive|not detected|not detectable|undetect(?:ed|able)|"
    r"below (?:the )?(?:lower )?(?:limit of detection|detection limit|detection level|detectable level|level of "
    r"detection|lod|detection)|<\s*lod|(?<![\w])tnd(?![\w])|(?<![\w])negative|(?<![\w])neg(?![\w])|-ve(?![\w])|"
    r"(?<![\w])nr(?![\w])|阴性|no (?:dna|rna|virus|viral dna|viral rna) detected|\(-\)")
_POS = re.compile(r"(?<![\w])(?:weak(?:ly)? )?(?:reactive|detected|detectable|positive|pos)(?![\w])|\+ve(?![\w])|"
                  r"阳性|\(\+\)|(?:^|\s)\++$|(?<=[a-z0-9])\++$")
_BELOW_NUMBER = re.compile(r"(?:<|less than|below)\s*\d+(?:[.,]\d+)?\s*(?:iu|copies|cp|log)?")
_LOAD = re.compile(r"(?<![\w<.,])(\d+(?:[.,]\d+)?)\s*(?:iu/ml|iu/l|iu|copies/ml|copies|cp/ml|log)")
_EQUIVOCAL = re.compile(r"equivocal|borderline|indeterminate|gr[ae]y zone|inconclusive|弱阳性\?")
_PENDING = re.compile(r"pending|awaited|awaiting|outstanding|in progress|not (?:yet )?(?:done|tested|back|available|"
                      r"performed)|(?<![\w])sent(?![\w])|requested|to be (?:done|repeated)|unknown|not known")


def _serology_clause(clause: str, qid: str) -> tuple[set[str], str | None]:
    """The tests a clause names and its result: positive, negative, weak_negative ("< 20 IU/mL" for a
    DNA load), equivocal, pending, number (a value the words do not read) or None."""
    tests: set[str] = set()
    rest = clause
    for code, pattern in _TEST_PATTERNS:
        if pattern.search(rest):
            tests.add(code)
            rest = pattern.sub(" ", rest)
    if _AMBIGUOUS.search(rest):
        tests.add("ambiguous")
        rest = _AMBIGUOUS.sub(" ", rest)
    rest = " ".join(rest.split()).strip(" :=")
    if _EQUIVOCAL.search(rest):
        return tests, "equivocal"
    if _PENDING.search(rest):
        return tests, "pending"
    negative = bool(_NEG.search(rest)) or rest in ("-", "--", "(-)")
    positive = bool(_POS.search(_NEG.sub(" ", rest)))
    if negative and positive:
        return tests, "mixed"
    if positive:
        return tests, "positive"
    if negative:
        return tests, "negative"
    if qid in _NUCLEIC and _BELOW_NUMBER.search(rest):
        return tests, "weak_negative"
    if qid in _NUCLEIC and (m := _LOAD.search(rest)) and float(m.group(1).replace(",", ".")) > 0:
        return tests, "positive"
    if re.search(r"\d", rest):
        return tests, "number"
    return tests, None


def read_serology(text: str, qid: str, choices: tuple[Choice, ...]) -> str | Reading:
    t = clean(text)
    c = match_choice(t, choices)
    if c is not None:
        return c.value
    if t in UNKNOWN_WORDS:
        return Reading(unknown=True)
    asked = SEROLOGY_ASKED[qid]
    own: list[str] = []
    others: list[tuple[set[str], str | None]] = []
    for clause in re.split(r"[,;()\[\]]|(?<![\w])(?:but|and|while|however)(?![\w])", t):
        clause = clause.strip()
        if not clause:
            continue
        tests, result = _serology_clause(clause, qid)
        if asked in tests or not tests:
            if result is not None:
                own.append(result)
        else:
            others.append((tests, result))
    non_treponemal_reactive = any("non_treponemal" in ts and r == "positive" for ts, r in others)
    results = set(own)
    if "mixed" in results or ("positive" in results and "negative" in results):
        raise AnswerError(msg(M.SEROLOGY_MIXED, test=asked))
    if results & {"positive", "negative"} and results & {"pending", "equivocal"}:
        raise AnswerError(msg(M.SEROLOGY_MIXED, test=asked))
    if "positive" in results:
        return "positive"
    if results & {"negative", "weak_negative"}:
        return "negative"
    notes: tuple[Message, ...] = (msg(M.SYPHILIS_NON_TREPONEMAL),) if non_treponemal_reactive else ()
    if "equivocal" in results:
        return Reading(unknown=True, notes=(msg(M.SEROLOGY_EQUIVOCAL, test=asked), *notes))
    if "pending" in results:
        return Reading(unknown=True, notes=notes)
    if non_treponemal_reactive:
        return Reading(unknown=True, notes=notes)
    named = [code for ts, _ in others for code in sorted(ts) if code != "ambiguous"]
    if named:
        raise AnswerError(msg(M.SEROLOGY_OTHER_TEST, named=named[0], test=asked))
    if any("ambiguous" in ts for ts, _ in others):
        raise AnswerError(msg(M.SEROLOGY_WHICH_TEST, test=asked))
    if means_unknown(t):
        return Reading(unknown=True)
    if "number" in results:
        raise AnswerError(msg(M.SEROLOGY_NUMBER, test=asked))
    raise AnswerError(msg(M.CHOICE_EXPECTED, choices=[[i, ch.label] for i, ch in enumerate(choices, 1)]))


# ---- lists --------------------------------------------------------------------------------------------

LIST_ALIASES: dict[str, dict[str, tuple[str, ...]]] = {
    "dmards": {
        "cyclophosphamide": ("ctx", "cy", "cp", "endoxan", "endoxana", "ivc", "iv cyc", "iv ctx", "nih ctx",
                             "euro-lupus", "euro lupus", "环磷酰胺"),
        "mycophenolate": ("myfortic", "mpa", "mycophenolate sodium", "ec-mps", "mycophenolic", "吗替麦考酚酯", "骁悉",
                          "霉酚酸酯"),
        "azathioprine": ("imuran", "azt", "硫唑嘌呤"),
        "methotrexate": ("甲氨蝶呤",),
        "cyclosporine": ("cya", "neoral", "sandimmun", "sandimmune", "cyclosporine a", "ciclosporin a", "环孢素"),
        "tacrolimus": ("prograf", "fk-506", "tacro", "advagraf", "他克莫司"),
        "sirolimus": ("rapamycin", "rapamune", "西罗莫司"),
        "leflunomide": ("arava", "lef", "来氟米特"),
        "tocilizumab": ("actemra", "roactemra", "托珠单抗"),
        "belimumab": ("benlysta", "贝利尤单抗"),
        "rituximab": ("mabthera", "rituxan", "rtx", "ritux", "利妥昔单抗"),
        "telitacicept": ("rc18", "泰它西普", "泰爱"),
    },
    "ln_classes": {"V": ("membranous",), "II": ("mesangial proliferative",)},
}
# DMARDs and biologics the protocol's list does not name: each counts as "other" (with a flag).
OTHER_DMARDS: dict[str, str] = {name: name for name in (
    "iguratimod", "anifrolumab", "obinutuzumab", "voclosporin", "ofatumumab", "abatacept", "bortezomib",
    "daratumumab", "thalidomide", "sulfasalazine", "chlorambucil", "tofacitinib", "baricitinib", "upadacitinib",
    "deucravacitinib", "everolimus", "mizoribine", "atacicept", "ustekinumab", "anakinra", "etanercept",
    "adalimumab", "infliximab", "emapalumab", "tripterygium", "litifilimab", "dapirolizumab", "ianalumab",
    "leflunomide analogue",
)} | {"艾拉莫德": "iguratimod", "雷公藤": "tripterygium", "沙利度胺": "thalidomide", "twhf": "tripterygium",
      "tripterygium wilfordii": "tripterygium", "jak inhibitor": "JAK inhibitor"}
# Asked on their own, and no DMARDs: left out of the list, with a note.
HCQ_NAMES = ("hcq", "hydroxychloroquine", "plaquenil", "hxcq", "hydroxychloroquin", "羟氯喹")
LEFT_OUT: dict[str, M] = {name: M.HCQ_LEFT_OUT for name in HCQ_NAMES} | {name: M.GC_LEFT_OUT for name in (
    "steroids", "steroid", "glucocorticoids", "glucocorticoid", "gc", "gcs", "corticosteroids", "prednisone",
    "prednisolone", "pred", "pdn", "methylprednisolone", "mp", "ivmp", "iv mp", "mp pulses", "methylpred",
    "dexamethasone", "dex", "hydrocortisone", "泼尼松", "甲泼尼龙", "激素")}

_NONE_LIST = re.compile(
    r"^(?:none|nil|no|nothing|nope)(?: (?:so far|yet|given|received|of these|of them|at all|apply|applies|known))?$|"
    r"^no (?:other )?(?:dmards?|biologics?|immunosuppressants?|cardiac (?:conditions?|disease|problems?|issues?))"
    r"(?: (?:so far|yet|given|received))?$|^no (?:biopsy-proven )?(?:ln|lupus nephritis|nephritis|renal "
    r"(?:involvement|disease))$")
_LN_UNKNOWN = re.compile(r"biops(?:y|ied)")
_LN_CLASS_NAMED = re.compile(r"(?<![\w])(?:i{1,3}|iv|v|vi|[1-6])(?![\w])")
_LN_TO_COME = re.compile(r"await|pending|planned|scheduled|not (?:yet )?(?:done|performed)|(?<![\w])no |not |to be |"
                         r"will|(?<![\w])no$")
_LN_WORDS = re.compile(r"(?<![\w])(?:class(?:es)?|ln|lupus nephritis|nephritis|isn/rps|isn-rps|isn rps|type|who|"
                       r"biopsy(?:-proven)?|renal|kidney)(?![\w])")
_DOSE_TAIL = re.compile(r"\s+(?:x\s?)?\d.*$|\s+(?:for|since|from|until|stopped|x)\b.*$")
_ITEM_FILLER = re.compile(r"^(?:(?:iv|i\.v\.|oral|po|sc|s\.c\.|pulses? of|high-dose|low-dose)\s+)+|"
                          r"(?:\s+(?:pulses?|infusions?|courses?|induction|monthly|therapy|tablets?|iv|po|oral|"
                          r"maintenance|daily|weekly|only))+$")


def _split_list(t: str, qid: str, choices: tuple[Choice, ...]) -> list[str]:
    pieces: list[str] = []
    for piece in re.split(r"[,;\n]", t):
        piece = piece.strip()
        if not piece:
            continue
        if match(piece, choices):
            pieces.append(piece)
            continue
        piece = re.sub(r"\([^()]*\)", " ", piece)
        parts = re.split(r"\s+(?:and|then|plus|followed by|after|with|later)\s+|\s*(?:\+|&|->|→)\s*|"
                         r"(?<=[a-z\u4e00-\u9fff])\s*/\s*(?=[a-z\u4e00-\u9fff])", piece)
        pieces += [p.strip() for p in parts if p and p.strip()]
    return pieces


def _list_item(item: str, qid: str, choices: tuple[Choice, ...]) -> tuple[str | None, str | None, M | None]:
    """(choice value, drug read as "other", left-out note) of one item; all None when not recognised."""
    c = match(item, choices)
    if c is not None:
        return c.value, None, None
    bare = item
    if qid == "ln_classes":
        bare = _LN_WORDS.sub(" ", bare)
        bare = re.sub(r"(?<=[iv])-?[gs]$|(?<=[iv])\s*-?\s*[gs](?=\s|$)", "", " ".join(bare.split()))
    else:
        bare = _DOSE_TAIL.sub("", bare)
        bare = _ITEM_FILLER.sub("", bare)
    bare = " ".join(bare.split()).strip(" .:-")
    c = match(bare, choices) if bare else None
    if c is None:
        for value, names in LIST_ALIASES.get(qid, {}).items():
            if bare in names or item in names:
                c = next((ch for ch in choices if ch.value == value), None)
    if c is not None:
        return c.value, None, None
    if qid == "dmards":
        if bare in OTHER_DMARDS or item in OTHER_DMARDS:
            return "other", OTHER_DMARDS.get(bare) or OTHER_DMARDS[item], None
        if bare in LEFT_OUT or item in LEFT_OUT:
            return None, None, LEFT_OUT.get(bare) or LEFT_OUT[item]
    return None, None, None


def read_list(text: str, qid: str, choices: tuple[Choice, ...]) -> list[str] | Reading:
    t = clean(text)
    if t in NONE_WORDS or _NONE_LIST.match(t):
        return []
    if means_unknown(t):
        return Reading(unknown=True)
    if (qid == "ln_classes" and _LN_UNKNOWN.search(t) and not _LN_CLASS_NAMED.search(t)
            and _LN_TO_COME.search(t)):
        return Reading(unknown=True)  # "renal biopsy awaited": not [], a biopsy to come may show class III-V
    values: list[str] = []
    bad: list[str] = []
    others: list[str] = []
    left_out: list[M] = []
    for item in _split_list(t, qid, choices):
        value, other, note = _list_item(item, qid, choices)
        if value is not None:
            values.append(value)
        if other is not None:
            others.append(other)
        if note is not None:
            left_out.append(note)
        if value is None and note is None:
            bad.append(item)
    values = list(dict.fromkeys(values))  # as typed, each once
    if bad:
        quoted = [as_typed(b, text)[:MAX_QUOTED] for b in bad[:5]]
        listing = [[i, c.label] for i, c in enumerate(choices, 1)]
        if values or left_out:
            labels = {c.value: short_label(c.label) for c in choices}
            read = [labels[v] for v in values]
            raise AnswerError(msg(M.LIST_PARTLY_READ, read=read or ["nothing of the list"], items=quoted,
                                  choices=listing))
        raise AnswerError(msg(M.LIST_ITEMS_UNKNOWN, items=quoted, choices=listing))
    if not values:
        if left_out:
            raise AnswerError(msg(M.DMARDS_ONLY_APART))
        raise AnswerError(msg(M.LIST_EMPTY))
    notes: list[Message] = [msg(code) for code in dict.fromkeys(left_out)]
    if others:
        notes.append(msg(M.READ_AS_OTHER, drugs=list(dict.fromkeys(others))))
    return Reading(values, notes=tuple(notes)) if notes else values


# ---- checklists ---------------------------------------------------------------------------------------

# Free-text names of checklist items (the exclusion checklist, 2019 EULAR/ACR items, SLEDAI-2K descriptors).
LIVE_VACCINES = ("live vaccine", "live vaccines", "live attenuated vaccine", "mmr", "mmrv", "varicella vaccine",
                 "varicella vaccination", "chickenpox vaccine", "chicken pox vaccine", "measles vaccine", "bcg",
                 "yellow fever vaccine", "oral polio vaccine", "opv", "rotavirus vaccine", "laiv", "nasal flu vaccine",
                 "live influenza vaccine", "live zoster vaccine", "zostavax", "oral typhoid vaccine", "水痘疫苗",
                 "麻疹疫苗", "减毒活疫苗")
ITEM_WORDS: dict[str, dict[str, tuple[str, ...]]] = {
    "exclusion_checklist": {
        "prior_cell_therapy": ("car-t", "car t", "cart", "car-t cells", "cell therapy", "prior car-t"),
        "cns_event_60d": ("cns event", "recent cns event"),
        "cns_damage_or_severe_seizures": ("structural cns damage", "cns damage", "severe seizures"),
        "dialysis_3m": ("dialysis", "hemodialysis", "haemodialysis", "peritoneal dialysis", "crrt", "rrt",
                        "renal replacement therapy", "renal replacement"),
        "renal_fibrosis_extensive": ("extensive fibrosis", "renal fibrosis", "extensive renal fibrosis"),
        "non_sle_immunosuppression": ("immunosuppression for another condition",),
        "active_infection": ("active infection", "infection", "sepsis"),
        "transplant_3m": ("transplant", "transplantation", "hsct", "bmt", "stem cell transplant",
                          "kidney transplant", "renal transplant"),
        "gvhd_grade2_2w": ("gvhd", "graft versus host disease", "graft-versus-host disease"),
        "mas_1m": ("mas", "macrophage activation syndrome", "macrophage activation"),
        "live_vaccine_4w": LIVE_VACCINES,
        "malignancy_or_severe_disease": ("malignancy", "cancer", "tumour", "tumor", "leukemia", "leukaemia",
                                         "lymphoma"),
        "other_trial_3m": ("other trial", "other trials", "another trial", "other clinical trial",
                           "other clinical trials", "another clinical trial", "clinical trial", "trial", "trials"),
        "pregnant": ("pregnant", "pregnancy"),
    },
    "eular_acr_2019.items": {
        "fever": ("fever", "pyrexia", "fevers"),
        "leukopenia": ("leukopenia", "leucopenia", "leukopaenia", "low wbc", "low white cells"),
        "thrombocytopenia": ("thrombocytopenia", "thrombocytopaenia", "low platelets", "low plt"),
        "autoimmune_hemolysis": ("aiha", "autoimmune hemolytic anemia", "autoimmune haemolytic anaemia", "hemolysis",
                                 "haemolysis", "hemolytic anemia", "haemolytic anaemia", "autoimmune haemolysis"),
        "delirium": ("delirium",),
        "psychosis": ("psychosis",),
        "seizure": ("seizure", "seizures", "epilepsy", "convulsions"),
        "non_scarring_alopecia": ("alopecia", "hair loss", "non scarring alopecia"),
        "oral_ulcers": ("oral ulcers", "oral ulcer", "mouth ulcers", "oral ulceration", "mucosal ulcers",
                        "oral/nasal ulcers"),
        "subacute_cutaneous_or_discoid_lupus": ("scle", "dle", "discoid", "discoid lupus", "subacute cutaneous lupus",
                                                "discoid rash"),
        "acute_cutaneous_lupus": ("malar rash", "butterfly rash", "acle", "acute cutaneous lupus", "malar"),
        "pleural_or_pericardial_effusion": ("pleural effusion", "pericardial effusion", "effusion",
                                            "pleural effusions"),
        "acute_pericarditis": ("pericarditis", "acute pericarditis"),
        "joint_involvement": ("arthritis", "synovitis", "joint involvement", "polyarthritis"),
        "proteinuria_gt_0_5g": ("proteinuria", "nephrotic range proteinuria", "nephrotic syndrome"),
        "antiphospholipid_antibodies": ("apl", "apla", "apl antibodies", "antiphospholipid", "anticardiolipin",
                                        "acl", "lupus anticoagulant", "anti-b2gp1", "anti-beta2 glycoprotein i",
                                        "anti-β2gpi", "aps"),
        "anti_dsdna_or_anti_sm": ("anti-dsdna", "anti dsdna", "dsdna", "ds-dna", "anti-ds-dna", "anti-sm",
                                  "anti sm", "anti-smith", "sm antibodies", "anti-dna", "dna antibodies"),
    },
    "sledai_2k_items": {
        "seizure": ("seizure", "seizures", "convulsion"),
        "psychosis": ("psychosis",),
        "organic_brain_syndrome": ("obs", "organic brain syndrome"),
        "visual_disturbance": ("visual disturbance", "retinal vasculitis", "cytoid bodies"),
        "cranial_nerve_disorder": ("cranial nerve disorder", "cranial neuropathy", "cranial nerve palsy"),
        "lupus_headache": ("lupus headache",),
        "cva": ("cva", "stroke", "cerebrovascular accident"),
        "vasculitis": ("vasculitis", "cutaneous vasculitis"),
        "arthritis": ("arthritis", "synovitis", "polyarthritis"),
        "myositis": ("myositis",),
        "urinary_casts": ("urinary casts", "casts", "rbc casts", "red cell casts", "cellular casts"),
        "hematuria": ("hematuria", "haematuria", "microscopic hematuria", "microscopic haematuria"),
        "proteinuria": ("proteinuria", "nephrotic range proteinuria"),
        "pyuria": ("pyuria", "leukocyturia", "sterile pyuria"),
        "rash": ("rash", "malar rash", "butterfly rash", "inflammatory rash"),
        "alopecia": ("alopecia", "hair loss"),
        "mucosal_ulcers": ("mucosal ulcers", "oral ulcers", "mouth ulcers", "nasal ulcers", "oral ulcer"),
        "pleurisy": ("pleurisy", "pleuritis", "pleural effusion"),
        "pericarditis": ("pericarditis", "pericardial effusion"),
        "increased_dna_binding": ("dsdna", "anti-dsdna", "anti dsdna", "ds-dna", "high dsdna", "raised dsdna",
                                  "increased dsdna", "dna binding", "anti-dna"),
        "fever": ("fever", "pyrexia"),
        "thrombocytopenia": ("thrombocytopenia", "low platelets", "low plt"),
        "leukopenia": ("leukopenia", "leucopenia", "low wbc"),
    },
}
# Words that name one of two items: asked which, never guessed.
AMBIGUOUS_ITEMS: dict[str, dict[str, tuple[str, str]]] = {
    "eular_acr_2019.items": {
        "rash": ("acute_cutaneous_lupus", "subacute_cutaneous_or_discoid_lupus"),
        "skin rash": ("acute_cutaneous_lupus", "subacute_cutaneous_or_discoid_lupus"),
        "cutaneous lupus": ("acute_cutaneous_lupus", "subacute_cutaneous_or_discoid_lupus"),
        "serositis": ("pleural_or_pericardial_effusion", "acute_pericarditis"),
    },
    "sledai_2k_items": {"serositis": ("pleurisy", "pericarditis")},
}
_ITEM_PATTERNS = {qid: [(code, _words(*names)) for code, names in sorted(
    vocab.items(), key=lambda kv: -max(len(n) for n in kv[1]))] for qid, vocab in ITEM_WORDS.items()}
# Days within which a time-limited exclusion counts ("varicella vaccine 10 days ago").
WINDOW_DAYS = {"cns_event_60d": 60, "dialysis_3m": 91, "active_infection": 7, "transplant_3m": 91,
               "gvhd_grade2_2w": 14, "mas_1m": 30, "live_vaccine_4w": 28, "other_trial_3m": 91}
# Items that happen at one time (a vaccine, a transplant): "N weeks ago" past the window is a no. For a
# state that lasts (an infection, dialysis, MAS, a trial), when it began does not say whether it goes on.
POINT_EVENTS = frozenset({"live_vaccine_4w", "transplant_3m"})
_DAYS = {"day": 1, "days": 1, "d": 1, "week": 7, "weeks": 7, "wk": 7, "wks": 7, "w": 7, "month": 30.44,
         "months": 30.44, "mo": 30.44, "mos": 30.44, "year": 365.25, "years": 365.25, "yr": 365.25, "y": 365.25}
_AGO = re.compile(r"(\d{1,3}|a|an|one|two|three|four|five|six)\s*(days?|d|weeks?|wks?|wk|w|months?|mos?|mo|"
                  r"years?|yrs?|yr|y)\s+ago|(yesterday|last week|this week|last month)")
_NUMBER_WORDS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6}

_REST_NONE = re.compile(
    r"^(?:(?:the )?(?:rest|others?|otherwise|all others?|all else|everything else|remaining|remainder)(?: (?:are|is))?"
    r"[ :-]*(?:none|no|nil|negative|absent|normal|not applicable|n/a|clear)|none other|no others?|nothing else|"
    r"(?:none|no|nil) (?:of the )?(?:rest|others?)|otherwise (?:nothing|none|no|nil|clear))$")
_NONE_CHECKLIST = re.compile(
    r"^(?:none|no|nil|nothing|nope)(?: (?:of (?:these|them|the above)|apply|applies|at all|known))?$|"
    r"^no (?:exclusions?|exclusion criteria|exclusion criterion)(?: (?:apply|applies|met|present|known))?$|"
    r"^(?:none|nothing) (?:of (?:these|them|the above) )?appl(?:y|ies)$|^no to all$|^all no$|^all negative$|"
    r"^(?:none|no) (?:present|found)$")
_UNSURE_LEAD = re.compile(r"^(?:\?\s*|(?:unsure|not sure|uncertain|don't know|do not know|unknown|not known)"
                          r"(?:\s+(?:about|of|re|regarding|whether|if|on))?\s+)")
_UNSURE_TAIL = re.compile(r"\s*(?:-|:)?\s*(?:unknown|not known|unsure|not sure|uncertain|unclear|not assessed|"
                          r"not done|not checked|not rechecked|not measured|not tested|not repeated|not yet done|"
                          r"pending|awaited|not available|n/a)(?: yet)?$")
_NO_LEAD = re.compile(r"^(?:no|not|never|without|denies|nil)\s+")
_NO_TAIL = re.compile(r"\s*(?:-|:)?\s*(?:negative|neg|normal|absent|no|none|not present|ruled out|-|\(-\)|-ve)$")
_YES_TAIL = re.compile(r"\s*(?:-|:)?\s*(?:positive|pos|present|yes|high|raised|elevated|increased|\+\+?|\(\+\)|"
                       r"\+ve)$|(?<=[a-z0-9])\+\+?$")
_FILLER = frozenset({
    "had", "has", "have", "received", "given", "was", "were", "is", "are", "the", "a", "an", "in", "on", "at", "of",
    "with", "last", "past", "recent", "recently", "ago", "since", "for", "patient", "pt", "child", "history", "hx",
    "h/o", "ongoing", "current", "currently", "now", "also", "about", "re", "regarding", "dose", "shot", "got",
    "known", "active", "prior", "previous", "previously", "any", "ever", "she", "he", "it", "there", "been",
    "vaccinated", "vaccination", "in the last", "days", "within", "and", "present", "positive", "antibodies",
    "antibody", "ab", "abs", "titre", "titer", "level", "levels", "test", "lupus", "proven", "biopsy",
    "biopsy-proven", "renal", "ln", "nephritis", "lupus nephritis",
})


def _days_ago(piece: str) -> tuple[float | None, str]:
    m = _AGO.search(piece)
    if not m:
        return None, piece
    if m.group(3):
        days = {"yesterday": 1, "this week": 7, "last week": 7, "last month": 30.44}[m.group(3)]
    else:
        n = m.group(1)
        days = (int(n) if n.isdigit() else _NUMBER_WORDS[n]) * _DAYS[m.group(2)]
    return days, (piece[: m.start()] + " " + piece[m.end():]).strip()


_PROTEIN = re.compile(r"(\d+(?:[.,]\d+)?)\s*(g|mg)\s*(?:/|per\s*)\s*(?:d|day|24\s*h(?:ours?|rs?)?|24h)(?![\w])")
_COMPLEMENT = re.compile(r"(?<![\w])(?:c3|c4|complements?|hypocomplementa?emia|ch50)(?![\w])")
_LOW = re.compile(r"(?<![\w])(?:low|decreased|reduced|depressed|consumed|below normal)(?![\w])|↓|hypocomplement")
_CLASS = re.compile(r"(?<![\w])(?:class(?:es)?|ln|isn/rps|lupus nephritis|nephritis)\s*(?:class\s*)?"
                    r"((?:(?:i{1,3}|iv|v|vi|[1-6])(?:-?[gs])?\s*(?:\+|/|&|and|,)?\s*)+)")
_ROMAN = {"1": "I", "2": "II", "3": "III", "4": "IV", "5": "V", "6": "VI", "i": "I", "ii": "II", "iii": "III",
          "iv": "IV", "v": "V", "vi": "VI"}


def _renal_classes(piece: str) -> set[str] | None:
    """The LN classes a piece names ("class IV LN", "LN III/V"), or None."""
    m = _CLASS.search(piece)
    if not m and re.search(r"(?<![\w])(?:ln|lupus nephritis|nephritis)(?![\w])", piece):
        m = re.search(r"((?:(?<![\w])(?:i{1,3}|iv|v|vi)(?:-?[gs])?(?![\w])\s*(?:\+|/|&|and)?\s*)+)", piece)
    if not m:
        return None
    return {_ROMAN[x] for x in re.findall(r"(?<![a-z0-9])(vi|iv|v|i{1,3}|[1-6])(?:-?[gs])?(?![a-z0-9])", m.group(1))}


class _Marks:
    """Marks of a checklist as the pieces name them: True present, None not known, False absent."""

    def __init__(self, choices: tuple[Choice, ...]) -> None:
        self.shown = [c.value for c in choices]
        self.marks: dict[str, bool | None] = {}
        self.notes: list[Message] = []

    def set(self, code: str, mark: bool | None) -> bool:
        if code not in self.shown:
            return False
        if code in self.marks:
            # Kleene OR over the mentions: "anti-dsDNA negative, anti-Sm positive" is the item present.
            old = self.marks[code]
            mark = True if True in (old, mark) else None if None in (old, mark) else False
        self.marks[code] = mark
        return True


def _markers(piece: str) -> tuple[bool | None, str]:
    """The mark a piece gives its item ("? X", "unsure about X", "X not done", "no X", "X negative",
    "anti-dsDNA+") and the piece without it."""
    m = _UNSURE_LEAD.match(piece) or _UNSURE_TAIL.search(piece)
    if m:
        return None, (piece[: m.start()] + piece[m.end():]).strip()
    m = _NO_LEAD.match(piece) or _NO_TAIL.search(piece)
    if m:
        return False, (piece[: m.start()] + piece[m.end():]).strip()
    m = _YES_TAIL.search(piece)
    if m:
        return True, piece[: m.start()].strip()
    return True, piece


def _residue(text: str, pattern: re.Pattern[str]) -> str:
    rest = pattern.sub(" ", text)
    words = [w for w in re.split(r"[\s:()]+", rest) if w and w not in _FILLER]
    return " ".join(words)


def _complement(piece: str, mark: bool | None, state: dict[str, str]) -> bool:
    """C3 and C4 as a piece names them ("low C3 and C4", "low C4", "C3 normal", "complement not done");
    False when the piece is no complement piece, or is one that cannot be read."""
    if not _COMPLEMENT.search(piece):
        return False
    c3, c4 = "c3" in piece, "c4" in piece
    low = bool(_LOW.search(piece))
    if mark is None:
        level = "unknown"
    elif mark is False and not low:
        level = "normal"
    elif low or mark is True:
        level = "low"
    else:
        return False
    if c3 and c4 and level == "low" and re.search(r"/|(?<![\w])or(?![\w])", piece):
        raise AnswerError(msg(M.ITEM_WHICH, text="low C3/C4", first="low C3 or low C4", second="low C3 and low C4"))
    if not (c3 or c4):
        state["any"] = level  # "low complement", "complement not done": C3 and C4 not told apart
        return True
    for name, named in (("c3", c3), ("c4", c4)):
        if named:
            state[name] = level
    return True


def _apply_complement(state: dict[str, str], qid: str, marks: _Marks) -> None:
    if not state:
        return
    c3, c4, any_ = state.get("c3"), state.get("c4"), state.get("any")
    if qid == "sledai_2k_items":
        levels = {c3, c4, any_} - {None}
        marks.set("low_complement", True if "low" in levels else None if "unknown" in levels else False)
        return
    if any_ == "low" and c3 is None and c4 is None:
        raise AnswerError(msg(M.ITEM_WHICH, text="low complement", first="low C3 or low C4",
                              second="low C3 and low C4"))
    if any_ is not None:
        c3, c4 = c3 or any_, c4 or any_
    lows = [x for x in (c3, c4) if x == "low"]
    unknowns = [x for x in (c3, c4) if x == "unknown"]
    if len(lows) == 2:
        marks.set("low_c3_and_c4", True)
        marks.set("low_c3_or_c4", False)
    elif len(lows) == 1:
        marks.set("low_c3_or_c4", True)
        marks.set("low_c3_and_c4", None if unknowns else False)
    elif unknowns:
        marks.set("low_c3_or_c4", None)
        marks.set("low_c3_and_c4", None)
    else:
        marks.set("low_c3_or_c4", False)
        marks.set("low_c3_and_c4", False)


def _proteinuria(piece: str, qid: str, marks: _Marks) -> bool:
    code = "proteinuria_gt_0_5g" if qid == "eular_acr_2019.items" else "proteinuria"
    if "proteinuria" not in piece or re.search(r"(?<![\w])(?:no|not|negative|normal|absent)(?![\w])", piece):
        return False
    m = _PROTEIN.search(piece)
    if m:
        grams = float(m.group(1).replace(",", ".")) / (1000 if m.group(2) == "mg" else 1)
        if grams <= 0.5:
            raise AnswerError(msg(M.ITEM_BELOW_THRESHOLD, item="proteinuria", threshold="0.5 g/24 h"))
        rest = _PROTEIN.sub(" ", piece)
    elif re.search(r"\d", piece):
        raise AnswerError(msg(M.ITEM_AMOUNT_UNCLEAR, item="proteinuria", threshold="0.5 g/24 h"))
    else:
        rest = piece
    if _residue(rest.replace("nephrotic range", " "), _words("proteinuria")):
        return False
    return marks.set(code, True)


def _piece(piece: str, qid: str, marks: _Marks, complement: dict[str, str], choices: tuple[Choice, ...]) -> bool:
    """Mark what one piece of a checklist answer names; False when it names nothing (or not only items)."""
    plain = piece.lstrip("? ").strip()
    c = match(plain, choices)
    if c is not None and plain == piece.strip():
        return marks.set(c.value, True)
    if c is not None and piece.startswith("?"):
        return marks.set(c.value, None)
    mark, core = _markers(piece)
    if not core:
        return False
    if mark is True and (pair := AMBIGUOUS_ITEMS.get(qid, {}).get(core)) and all(p in marks.shown for p in pair):
        labels = {c.value: short_label(c.label) for c in choices}
        raise AnswerError(msg(M.ITEM_WHICH, text=core, first=labels[pair[0]], second=labels[pair[1]]))
    if qid in ("eular_acr_2019.items", "sledai_2k_items"):
        if _complement(core if mark is not False else piece, mark, complement):
            return True
        if mark is True and _proteinuria(core, qid, marks):
            return True
        if qid == "eular_acr_2019.items" and (classes := _renal_classes(core)) is not None:
            codes = {"renal_class_iii_or_iv" for k in classes if k in ("III", "IV")}
            codes |= {"renal_class_ii_or_v" for k in classes if k in ("II", "V")}
            if not codes:
                return False
            return all(marks.set(code, mark) for code in codes)
    c = match(core, choices)
    if c is not None:
        return marks.set(c.value, mark)
    days, core = _days_ago(core)
    found: list[str] = []
    rest = core
    for code, pattern in _ITEM_PATTERNS.get(qid, ()):
        if pattern.search(rest):
            found.append(code)
            rest = pattern.sub(" ", rest)
    if not found or _residue(rest, re.compile(r"$^")):
        return False
    for code in found:
        window = WINDOW_DAYS.get(code)
        if mark is True and days is not None and window is not None and days > window:
            if code not in POINT_EVENTS:  # an infection or dialysis that began then may go on: asked back
                return False
            marks.notes.append(msg(M.CHECKLIST_OUTSIDE_WINDOW, item=code, days=round(days)))
            if not marks.set(code, False):
                return False
        elif not marks.set(code, mark):
            return False
    return True


def read_checklist(text: str, qid: str, choices: tuple[Choice, ...]) -> dict[str, bool | None] | Reading:
    """A checklist from free text: the items named are present (or "?"/"unsure about …": not known, "no …":
    absent), "rest none" says the others are absent, as items not named are."""
    result: dict[str, bool | None] = {c.value: False for c in choices}
    t = clean(text)
    if t in NONE_WORDS or _NONE_CHECKLIST.match(t):
        return result
    if t in UNKNOWN_WORDS:
        return Reading(unknown=True)
    pieces = [p.strip() for p in re.split(r"[,;\n]", t) if p.strip()]
    if not pieces:
        # An empty line is not "none of these": nothing may be recorded as "no" without being said.
        raise AnswerError(msg(M.CHECKLIST_EMPTY))
    marks = _Marks(choices)
    complement: dict[str, str] = {}
    bad: list[str] = []
    for piece in pieces:
        if _REST_NONE.match(piece):
            continue
        if _piece(piece, qid, marks, complement, choices):
            continue
        # A piece that names several items ("fever and joint involvement", "MAS + dialysis").
        parts = [p.strip() for p in re.split(r"\s+and\s+|\s*\+\s*(?=\S)|\s*&\s*", piece) if p.strip()]
        if len(parts) > 1 and all(_piece(p, qid, marks, complement, choices) for p in parts):
            continue
        bad.append(piece)
    _apply_complement(complement, qid, marks)
    if bad:
        quoted = [as_typed(b, text)[:MAX_QUOTED] for b in bad[:5]]
        if marks.marks:
            read = [short_label(c.label) for c in choices if c.value in marks.marks]
            raise AnswerError(msg(M.CHECKLIST_PARTLY_READ, read=read, items=quoted))
        raise AnswerError(msg(M.CHECKLIST_ITEMS_UNKNOWN, items=quoted))
    if not marks.marks and not any(_REST_NONE.match(p) for p in pieces):
        raise AnswerError(msg(M.CHECKLIST_EMPTY))
    result.update(marks.marks)
    return Reading(result, notes=tuple(marks.notes)) if marks.notes else result


__all__ = ["clean", "means_unknown", "read_checklist", "read_choice", "read_list", "read_serology", "read_yes_no"]
