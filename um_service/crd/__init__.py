"""CRD (Coverage Requirements Discovery): CDS Hooks answers from the rule pack and the member registry."""
