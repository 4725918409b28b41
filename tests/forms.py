"""Read the forms of a page the way a browser would, so a test fills in and submits what a person
sees: the hidden fields the page drew (CSRF token, versions), the buttons with their labels, the
boxes to tick. Only the HTML the server sent is used; nothing is taken from the database."""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from html.parser import HTMLParser

from werkzeug.datastructures import MultiDict


@dataclass
class Form:
    action: str
    method: str
    fields: dict[str, str] = field(default_factory=dict)      # hidden/text/selected values
    buttons: list[tuple[str, str, str]] = field(default_factory=list)    # (name, value, label)
    choices: list[tuple[str, str, str]] = field(default_factory=list)    # checkbox/radio (name, value, aria-label)
    text: str = ""

    def button(self, label: str) -> tuple[str, str]:
        """(name, value) of the button whose label is `label` (exactly, after unescaping)."""
        found = [(n, v) for n, v, text in self.buttons if text == label]
        assert len(found) == 1, f"{len(found)} buttons labelled {label!r} in {self.action}: {self.buttons}"
        return found[0]

    def choice(self, label: str) -> tuple[str, str]:
        found = [(n, v) for n, v, text in self.choices if text == label]
        assert len(found) == 1, f"{len(found)} boxes labelled {label!r} in {self.action}"
        return found[0]

    def submit(self, client, button: str | tuple[str, str] | None = None, tick: tuple = (), **values):
        """POST the form as a person pressing `button` (its label, or its (name, value) where
        labels repeat) after ticking the boxes `tick` (labels, or (name, value) pairs the page
        offers) and typing `values` into the named fields."""
        data = [(k, v) for k, v in self.fields.items() if k not in values]
        data += list(values.items())
        for box in tick:
            if isinstance(box, tuple):
                assert box in [(n, v) for n, v, _ in self.choices], f"no box {box} in {self.action}"
                data.append(box)
            else:
                data.append(self.choice(box))
        if isinstance(button, tuple):
            assert button in [(n, v) for n, v, _ in self.buttons], f"no button {button} in {self.action}"
            data.append(button)
        elif button is not None:
            name, value = self.button(button)
            if name:
                data.append((name, value))
        return client.post(self.action, data=MultiDict(data), headers={"Origin": "http://localhost"})


class _Parser(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms: list[Form] = []
        self._form: Form | None = None
        self._button: list | None = None
        self._select: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag, attrs):
        a = {k: (v if v is not None else "") for k, v in attrs}
        if tag == "form":
            self._form = Form(a.get("action", ""), a.get("method", "get").lower())
            self.forms.append(self._form)
        if self._form is None:
            return
        if tag == "input":
            kind = a.get("type", "text")
            if kind in ("checkbox", "radio"):
                self._form.choices.append((a.get("name", ""), a.get("value", "on"), a.get("aria-label", "")))
                if "checked" in a:
                    self._form.fields[a.get("name", "")] = a.get("value", "on")
            elif kind == "submit":
                self._form.buttons.append((a.get("name", ""), a.get("value", ""), a.get("value", "")))
            elif a.get("name"):
                self._form.fields[a["name"]] = a.get("value", "")
        elif tag == "button":
            self._button = [a.get("name", ""), a.get("value", ""), ""]
        elif tag == "select":
            self._select = a.get("name")
        elif tag == "option" and self._select and ("selected" in a or self._select not in self._form.fields):
            self._form.fields[self._select] = a.get("value", "")
        elif tag == "textarea" and a.get("name"):
            self._form.fields[a["name"]] = ""
            self._textarea = a["name"]      # its text is its value

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "button" and self._button is not None and self._form is not None:
            name, value, label = self._button
            self._form.buttons.append((name, value, " ".join(label.split())))
            self._button = None
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data):
        if self._button is not None:
            self._button[2] += data
        if self._form is not None and self._textarea is not None:
            self._form.fields[self._textarea] += data
        elif self._form is not None:
            self._form.text += data


def forms(page: str, action: str | None = None) -> list[Form]:
    """The page's forms, or those posting to `action`."""
    parser = _Parser()
    parser.feed(page)
    found = parser.forms
    return [f for f in found if action is None or html.unescape(f.action) == action]


def form(page: str, action: str, containing: str | None = None) -> Form:
    """The one form posting to `action` (whose text or buttons contain `containing`, if given)."""
    found = [f for f in forms(page, action)
             if containing is None or containing in f.text or any(containing == b[2] for b in f.buttons)]
    assert len(found) == 1, f"{len(found)} forms posting to {action} containing {containing!r}"
    return found[0]
