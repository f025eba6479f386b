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


def control_title(control: str) -> str:
    """The title of a control or clause id (``A.8.4``, ``7.5``); unknown ids are returned as they are."""
    return CONTROL_TITLES.get(control.removeprefix("clause "), control)
