from . import (
    awareness,
    education,
    followups,
    igas,
    loans,
    overview,
    participation,
    savings,
    training,
)

urlpatterns = [
    *overview.router.urls,
    *awareness.router.urls,
    *training.router.urls,
    *education.router.urls,
    *participation.router.urls,
    *loans.router.urls,
    *savings.router.urls,
    *igas.router.urls,
    *followups.router.urls,
]
