"""State shared by the checks of one run: the tree, the policy, cached file identities."""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from pathlib import Path

from wg_license.expressions import Parsed
from wg_license.findings import Finding
from wg_license.fingerprints import Identified, identify_text
from wg_license.manifests import Package, read_text
from wg_license.policy import Policy
from wg_license.terms import LicenceTerms, terms_by_id
from wg_license.tree import Tree


@dataclass
class PackageState:
    """What the checks learnt about one package."""

    package: Package
    parsed: Parsed | None = None
    shipped: dict[str, Identified] = field(default_factory=dict)
    #: texts of enclosing folders that reach users with the package (an unpublished crate)
    inherited: dict[str, Identified] = field(default_factory=dict)

    @property
    def keys(self) -> frozenset[str]:
        return self.parsed.keys if self.parsed else frozenset()

    def notices(self) -> set[str]:
        """Custom licence ids whose exact text the package ships."""
        texts = [*self.shipped.values(), *self.inherited.values()]
        return {i.custom.licence_id for i in texts if i.custom.licence_id}


@dataclass
class Context:
    """One run of ``wg license check``."""

    root: Path
    tree: Tree
    policy: Policy
    findings: list[Finding] = field(default_factory=list)
    states: list[PackageState] = field(default_factory=list)
    _by_path: dict[str, Identified | None] = field(default_factory=dict)
    _by_text: dict[str, Identified] = field(default_factory=dict)
    _folder_map: dict[str, PackageState] | None = None
    _sorted_files: list[str] | None = None

    @property
    def custom(self) -> dict[str, LicenceTerms]:
        return terms_by_id()

    def identify(self, rel: str) -> Identified | None:
        """Identify the licence text at ``rel`` (cached; unreadable files become findings)."""
        if rel not in self._by_path:
            text = read_text(self.root, rel, self.findings)
            if text is None:
                self._by_path[rel] = None
            else:
                # Generated trees and monorepos repeat the same texts: identify each text once.
                if text not in self._by_text:
                    self._by_text[text] = identify_text(text)
                self._by_path[rel] = self._by_text[text]
        return self._by_path[rel]

    def enclosing_texts(self, folder: str) -> list[tuple[str, Identified]]:
        """Identified licence files of the folders enclosing ``folder``, nearest first."""
        parts = folder.split("/") if folder else []
        found = []
        for depth in range(len(parts) - 1, -1, -1):
            for rel in self.tree.licence_files_in("/".join(parts[:depth])):
                identified = self.identify(rel)
                if identified is not None:
                    found.append((rel, identified))
        return found

    def files_under(self, folder: str) -> list[str]:
        """Files the walk found under ``folder``, as paths relative to it."""
        if self._sorted_files is None:
            self._sorted_files = sorted(self.tree.files)
        if not folder:
            return self._sorted_files
        prefix = folder + "/"
        # Paths that start with the prefix sort together, just after the prefix itself.
        start = bisect.bisect_left(self._sorted_files, prefix)
        end = bisect.bisect_left(self._sorted_files, prefix[:-1] + chr(ord("/") + 1))
        return [rel[len(prefix) :] for rel in self._sorted_files[start:end]]

    def owner(self, rel: str) -> PackageState | None:
        """The package whose folder most closely encloses ``rel``."""
        folders = self._folders()
        parts = rel.split("/")[:-1]
        for depth in range(len(parts), -1, -1):
            state = folders.get("/".join(parts[:depth]))
            if state is not None:
                return state
        return None

    def _folders(self) -> dict[str, PackageState]:
        if self._folder_map is None:
            self._folder_map = {}
            for s in self.states:
                self._folder_map.setdefault(s.package.folder, s)
        return self._folder_map
