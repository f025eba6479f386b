"""Titles of the ISO/IEC 27001:2022 clauses and Annex A controls that annexa evidences."""

from __future__ import annotations

CONTROL_TITLES: dict[str, str] = {
    "5.2": "Policy",
    "7.5": "Documented information",
    "A.5.1": "Policies for information security",
    "A.5.2": "Information security roles and responsibilities",
    "A.5.3": "Segregation of duties",
    "A.5.9": "Inventory of information and other associated assets",
    "A.5.10": "Acceptable use of information and other associated assets",
    "A.5.12": "Classification of information",
    "A.5.15": "Access control",
    "A.5.17": "Authentication information",
    "A.5.18": "Access rights",
    "A.5.19": "Information security in supplier relationships",
    "A.5.21": "Managing information security in the ICT supply chain",
    "A.5.23": "Information security for use of cloud services",
    "A.5.34": "Privacy and protection of personal identifiable information (PII)",
    "A.5.36": "Compliance with policies, rules and standards for information security",
    "A.5.37": "Documented operating procedures",
    "A.8.2": "Privileged access rights",
    "A.8.3": "Information access restriction",
    "A.8.4": "Access to source code",
    "A.8.7": "Protection against malware",
    "A.8.8": "Management of technical vulnerabilities",
    "A.8.9": "Configuration management",
    "A.8.11": "Data masking",
    "A.8.12": "Data leakage prevention",
    "A.8.24": "Use of cryptography",
    "A.8.25": "Secure development life cycle",
    "A.8.26": "Application security requirements",
    "A.8.27": "Secure system architecture and engineering principles",
    "A.8.28": "Secure coding",
    "A.8.29": "Security testing in development and acceptance",
    "A.8.31": "Separation of development, test and production environments",
    "A.8.32": "Change management",
    "A.8.33": "Test information",
}


ISO_CLAUSES: frozenset[str] = frozenset({
    "4", "4.1", "4.2", "4.3", "4.4",
    "5", "5.1", "5.2", "5.3",
    "6", "6.1", "6.1.1", "6.1.2", "6.1.3", "6.2", "6.3",
    "7", "7.1", "7.2", "7.3", "7.4", "7.5", "7.5.1", "7.5.2", "7.5.3",
    "8", "8.1", "8.2", "8.3",
    "9", "9.1", "9.2", "9.2.1", "9.2.2", "9.3", "9.3.1", "9.3.2", "9.3.3",
    "10", "10.1", "10.2",
})  # fmt: skip
"""The numbered requirement clauses 4-10 of ISO/IEC 27001:2022 and their sub-clauses (ids only)."""

ANNEX_A_COUNTS = {5: 37, 6: 8, 7: 14, 8: 34}
"""How many controls each Annex A theme has: A.5 organisational, A.6 people, A.7 physical, A.8 technological."""

ANNEX_A: frozenset[str] = frozenset(f"A.{theme}.{n}" for theme, count in ANNEX_A_COUNTS.items()
                                    for n in range(1, count + 1))
"""Every Annex A control id of ISO/IEC 27001:2022 (A.5.1-A.5.37, A.6.1-A.6.8, A.7.1-A.7.14, A.8.1-A.8.34)."""


def is_iso_control(control: str) -> bool:
    """True when ``control`` is an ISO/IEC 27001:2022 clause (``7.5``, ``clause 7.5``) or Annex A control id."""
    return control in ANNEX_A or control.removeprefix("clause ") in ISO_CLAUSES


def control_problem(control: str) -> str:
    """Why ``control`` is not an ISO/IEC 27001:2022 id, naming the range that applies."""
    if control.startswith("A."):
        theme = control.split(".")[1] if control.count(".") >= 2 else ""
        count = ANNEX_A_COUNTS.get(int(theme)) if theme.isdigit() else None
        if count:
            return (f"{control} is not an ISO/IEC 27001:2022 Annex A control "
                    f"(theme A.{theme} has A.{theme}.1-A.{theme}.{count})")
        return f"{control} is not an ISO/IEC 27001:2022 Annex A control (themes A.5-A.8)"
    return f"{control} is not a clause of ISO/IEC 27001:2022 (clauses 4-10 and their sub-clauses, e.g. 6.1.2, 9.3.1)"


def control_title(control: str) -> str:
    """The title of a control or clause id (``A.8.4``, ``7.5``); unknown ids are returned as they are."""
    return CONTROL_TITLES.get(control.removeprefix("clause "), control)
