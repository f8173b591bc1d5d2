"""Field permissions attached in the schema."""

from __future__ import annotations

from typing import Any

from strawberry.permission import BasePermission

from resolvers.context import Info


class PersonalData(BasePermission):
    """Participant names and NIK digits, agent phones: not for planners."""

    message = "personal data (names, NIK digits, phone numbers) is not available to your role"
    error_extensions = {"code": "FORBIDDEN"}

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        return info.context.viewer.sees_personal_data
