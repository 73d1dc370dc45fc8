"""`arvideo bench prompts`: does a text-conditioned generator draw what its caption names?

budget.py (presets and the paradigms' recipes), stages.py (data, tokenizers and generators
through `arvideo fit`, reused when done), evaluate.py (generation from captions, prompt
accuracy, diversity), sheet.py (prompt -> clip grid), report.py (markdown / JSON), run.py
(the command).
"""
