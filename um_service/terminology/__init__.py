"""Code descriptions for staff: ICD-10-CM diagnoses, HCPCS Level II services, LOINC document types, X12 service
types from tables shipped here, and CPT codes in the rule pack's own words (`displays:`). See README.md for the
sources, releases and licences of the tables."""

from __future__ import annotations

from .descriptions import HCPCS, ICD10CM, LOINC, X12_SERVICE_TYPES, coded, describe

__all__ = ["HCPCS", "ICD10CM", "LOINC", "X12_SERVICE_TYPES", "coded", "describe"]
