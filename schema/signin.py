"""Refuse operations from callers without a valid token (introspection alone stays open)."""

from __future__ import annotations

from collections.abc import Iterator

from graphql import FieldNode, GraphQLError, OperationDefinitionNode
from strawberry.extensions import SchemaExtension
from strawberry.types import ExecutionResult

from resolvers.errors import Unauthenticated


class RequireSignIn(SchemaExtension):
    def on_execute(self) -> Iterator[None]:
        context = self.execution_context
        caller_problem = getattr(context.context, "auth_problem", "")
        if getattr(context.context, "caller", None) is None and not self._introspection_only():
            error = Unauthenticated(caller_problem or "sign in with a bearer token")
            context.result = ExecutionResult(
                data=None, errors=[GraphQLError(str(error), original_error=error, extensions={"code": error.code})]
            )
        yield

    def _introspection_only(self) -> bool:
        """GraphiQL's schema fetch needs no token; production turns introspection off anyway."""
        document = self.execution_context.graphql_document
        if document is None:
            return False
        for definition in document.definitions:
            if isinstance(definition, OperationDefinitionNode):
                for selection in definition.selection_set.selections:
                    if not (isinstance(selection, FieldNode) and selection.name.value.startswith("__")):
                        return False
        return True
