"""The command palette's app commands (ctrl+p): one per key of the dashboard, from its bindings.

Adding a binding to MainScreen adds its command here: nothing is listed twice. A binding's
description is the command's name and its tooltip the help line; the key is shown with it.
"""

from __future__ import annotations

from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider

# Quit is q alone and Detach D alone: a stray Enter in the palette must not end a run or the UI
# (random keys found both: typed letters matched the command, Enter ran it).
NOT_COMMANDS = {"app.quit", "quit", "app.detach", "detach", "leave_form"}


class AppCommands(Provider):
    """Start, stop, pause, save, load, race, every tab, smoothing, the ghost, help…"""

    def _commands(self):
        main = getattr(self.app, "main", None)
        if main is None or self.screen is not main:
            return  # over another screen (a race, a dialog) these would act behind it
        seen = set()
        for binding in type(main).BINDINGS:
            if binding.action in seen or binding.action in NOT_COMMANDS:
                continue
            seen.add(binding.action)
            key = self.app.get_key_display(binding)
            name = binding.description
            help_text = f"key {key}" + (f" · {binding.tooltip}" if binding.tooltip else "")
            yield name, help_text, partial(main.run_action, binding.action)
        yield "Help", "keys ? or F1 · every key of this tab and of the app", self.app.action_help

    async def discover(self) -> Hits:
        for name, help_text, command in self._commands() or ():
            yield DiscoveryHit(name, command, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, help_text, command in self._commands() or ():
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, matcher.highlight(name), command, help=help_text)
