"""The in-app inbox: notifications for providers and curators, written from ``notify.*`` events."""
