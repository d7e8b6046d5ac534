"""The ``unicorn-settings`` directive: the settings reference, generated from the table.

unicorn.settings.SETTINGS describes every setting once; the command line, the config file and
--print-config are built from it, and so is this appendix. A setting added to the table appears
in the book at the next build, with its flags, its default and its help, and never drifts.
"""

from __future__ import annotations

from docutils import nodes
from sphinx.util.docutils import SphinxDirective


def default_text(setting) -> str:
    """The default as a reader would write it: hooks by name, everything else as Python."""
    default = setting.default
    return default.__name__ if callable(default) else repr(default)


def describe(setting) -> nodes.definition_list_item:
    term = nodes.term("", "", nodes.literal(text=setting.name))
    body = nodes.definition()
    if setting.flags:
        flags = ", ".join(setting.flags)
        if setting.metavar:
            flags += f" {setting.metavar}"
        body += nodes.paragraph("", "", nodes.strong(text="Command line: "),
                                nodes.literal(text=flags))
    else:
        body += nodes.paragraph("", "", nodes.strong(text="Command line: "),
                                nodes.Text("none; set it in a config file."))
    body += nodes.paragraph("", "", nodes.strong(text="Default: "),
                            nodes.literal(text=default_text(setting)))
    body += nodes.paragraph(text=setting.help)
    return nodes.definition_list_item("", term, body)


class SettingsReference(SphinxDirective):
    """One rubric per section, in the order of the table, and a definition per setting."""

    def run(self) -> list[nodes.Node]:
        from unicorn.settings import SETTINGS

        self.env.note_dependency(self.env.relfn2path("../unicorn/settings.py")[1])
        output: list[nodes.Node] = []
        sections: dict[str, nodes.definition_list] = {}
        for setting in SETTINGS:
            if setting.section not in sections:
                sections[setting.section] = nodes.definition_list()
                output += [nodes.rubric(text=setting.section), sections[setting.section]]
            sections[setting.section] += describe(setting)
        return output


def setup(app) -> dict:
    app.add_directive("unicorn-settings", SettingsReference)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
