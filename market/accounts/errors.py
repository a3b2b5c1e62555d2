"""Errors specific to accounts and authentication."""

from __future__ import annotations

from core.errors import AppError, Conflict, TooManyRequests, Unauthenticated


class InvalidCredentials(Unauthenticated):
    code = "invalid_credentials"
    # The failed attempt must be remembered even though the request fails.
    keep_changes = True


class LoginThrottled(TooManyRequests):
    code = "login_throttled"


class EmailTaken(Conflict):
    code = "email_taken"


class CreditCodeTaken(Conflict):
    code = "credit_code_taken"


class InvalidInvitation(AppError):
    status_code = 400
    code = "invalid_invitation"
