"""Reference vocabularies and code rules shared by catalogue, market, search and matching.

Import from here rather than from the submodules; the submodules are an implementation
detail and may be split or merged.
"""

from catalog.taxonomy.credit_code import (
    CREDIT_CODE_CHARS,
    CreditCodeError,
    credit_code_check_char,
    is_valid_credit_code,
    make_credit_code,
    normalise_credit_code,
    organisation_code_check_char,
    organisation_code_warning,
)
from catalog.taxonomy.industry import (
    describe_industry,
    division_of,
    industry_match_depth,
    is_known_industry,
    is_within,
    normalise_industry_code,
    section_of,
    sections,
)
from catalog.taxonomy.protocols import normalise_protocol_text, protocol_covers, resolve_protocol
from catalog.taxonomy.regions import (
    Region,
    cities_of,
    is_known_region,
    province_of,
    region,
    same_province,
)
from catalog.taxonomy.registry import (
    VOCABULARY_NAMES,
    Term,
    Vocabulary,
    taxonomy_version,
    validate_codes,
    vocabulary,
)
from catalog.taxonomy.sme_size import SIZE_SECTORS, derive_size

__all__ = [
    "CREDIT_CODE_CHARS",
    "SIZE_SECTORS",
    "VOCABULARY_NAMES",
    "CreditCodeError",
    "Region",
    "Term",
    "Vocabulary",
    "cities_of",
    "credit_code_check_char",
    "derive_size",
    "describe_industry",
    "division_of",
    "industry_match_depth",
    "is_known_industry",
    "is_known_region",
    "is_valid_credit_code",
    "is_within",
    "make_credit_code",
    "normalise_credit_code",
    "normalise_industry_code",
    "normalise_protocol_text",
    "organisation_code_check_char",
    "organisation_code_warning",
    "protocol_covers",
    "province_of",
    "region",
    "resolve_protocol",
    "same_province",
    "section_of",
    "sections",
    "taxonomy_version",
    "validate_codes",
    "vocabulary",
]
