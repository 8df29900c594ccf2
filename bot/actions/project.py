START, STEP, DONE = "project_start", "project_step", "project_done"
NOTE, LOG, REMIND = "project_note", "project_log", "project_remind"
ACTIONS = frozenset({START, STEP, DONE, NOTE, LOG, REMIND})
