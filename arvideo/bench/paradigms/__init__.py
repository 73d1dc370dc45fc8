"""`arvideo bench paradigms`: every order × head as a world model on one game, one budget.

run.py holds the orchestration (`bench_paradigms`); budget.py the budgets and the paradigm
list, episodes.py the data (episodes, training and evaluation windows), models.py the
tokenizers and generators (trained through `GeneratorModule`'s recipe), evaluate.py the
rollouts and their cost, rollout_eval.py the scores, frame_order.py the feature network
and report.py the markdown and plots.
"""
