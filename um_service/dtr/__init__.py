"""DTR: the questions the rules need, served as questionnaire packages to the EHR's DTR client."""
