COHORTS, NEW, CREATE, OPEN = "cohorts", "cohort_new", "cohort_create", "cohort_open"
QR, RENAME, CLOSE, REOPEN = "cohort_qr", "cohort_rename", "cohort_close", "cohort_reopen"
ANNOUNCE, ANNOUNCE_BUTTON, ANNOUNCE_SEND = "announce", "announce_button", "announce_send"
ACTIONS = frozenset(
    {
        COHORTS,
        NEW,
        CREATE,
        OPEN,
        QR,
        RENAME,
        CLOSE,
        REOPEN,
        ANNOUNCE,
        ANNOUNCE_BUTTON,
        ANNOUNCE_SEND,
    }
)
