"""The sandbox's terminal: prompt_toolkit line editing and history on a terminal, colour with rich when
stdout is one, plain lines otherwise (piped input is echoed after its prompt, so a transcript of
`hardno try < script.txt` reads like the session)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TextIO

from rich.text import Text

HISTORY = Path.home() / ".hardno_try_history"


def _isatty(stream) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):
        return False


class Console:
    def __init__(self, stdin: TextIO, stdout: TextIO):
        self.stdin, self.stdout = stdin, stdout
        self.tty_in, self.tty_out = _isatty(stdin), _isatty(stdout)
        self.echo = not self.tty_in  # show what was read, since nobody typed it on screen
        self.colour = self.tty_out and os.environ.get("NO_COLOR") is None and os.environ.get("TERM") != "dumb"
        self._rich = None
        if self.tty_out:
            from rich.console import Console as RichConsole
            self._rich = RichConsole(file=stdout, highlight=False, markup=False, emoji=False,
                                     no_color=not self.colour, soft_wrap=False)
        self._session = None
        if self.tty_in and self.tty_out:
            self._session = self._prompt_session()

    @staticmethod
    def _prompt_session():
        try:
            from prompt_toolkit import PromptSession
            from prompt_toolkit.history import FileHistory, InMemoryHistory
        except ImportError:  # a declared dependency, but the sandbox still works without it
            return None
        try:
            history = FileHistory(str(HISTORY))
        except OSError:
            history = InMemoryHistory()
        return PromptSession(history=history)

    # -- output ------------------------------------------------------------------------------------------
    def show(self, line: Text | str = "", style: str = "") -> None:
        text = line if isinstance(line, Text) else Text(str(line), style=style or "")
        if self._rich is not None:
            self._rich.print(text, soft_wrap=True)
        else:
            self.stdout.write(text.plain + "\n")
            self.stdout.flush()

    def write(self, text: str, style: str = "") -> None:
        """Part of a line, shown at once (streamed text as it arrives); the caller ends the line."""
        if self._rich is not None:
            self._rich.print(Text(text, style=style), end="", soft_wrap=True)
            self._rich.file.flush()
        else:
            self.stdout.write(text)
            self.stdout.flush()

    def note(self, message: str) -> None:
        """Something the sandbox (not the bot) says."""
        for line in message.split("\n"):
            self.show(Text(line, style="italic bright_black"))

    def warn(self, message: str) -> None:
        self.show(Text(message, style="bold yellow"))

    # -- input -------------------------------------------------------------------------------------------
    def ask(self, prompt: str, *, label: str = "", interruptible: bool = False) -> str | None:
        """One line from the user without its newline; None at end of input. `label` is shown before the
        prompt in colour on a terminal (e.g. the current user's name). Ctrl-C clears the line, or raises
        KeyboardInterrupt when `interruptible` (a form's field: Ctrl-C cancels the form)."""
        if self._session is not None:
            from prompt_toolkit.formatted_text import FormattedText
            parts = [("ansicyan bold", label)] if label else []
            try:
                return self._session.prompt(FormattedText(parts + [("bold", prompt)]))
            except KeyboardInterrupt:
                if interruptible:
                    raise
                return ""  # Ctrl-C clears the line, as in a shell; Ctrl-D (EOF) quits
            except EOFError:
                return None
        if self.tty_in:  # typed, but the output goes elsewhere: still show a prompt where we can
            self.stdout.write(label + prompt)
            self.stdout.flush()
        line = self.stdin.readline()
        if not line:
            return None
        line = line.rstrip("\r\n")
        if self.echo:
            self.stdout.write(f"{prompt}{line}\n")
            self.stdout.flush()
        return line
