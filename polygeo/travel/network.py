"""Travel times over a road network.

A :class:`RoadNetwork` is a weighted graph in the working metric CRS, built from
road line geometries (:meth:`RoadNetwork.from_lines`) or an OSMnx GraphML file
(:meth:`RoadNetwork.from_graphml`). Edge weights are minutes.

Travel time of a pair = access time from the area's origin to its nearest node
+ shortest network time between the nodes + access time from the site's
nearest node to the site. The access legs are straight lines covered at
``access_speed_kmh`` (default :data:`DEFAULT_ACCESS_SPEED_KMH` = 15 km/h).
When the direct straight line from area to site at that same speed is faster,
it is used instead (``direct_access=True``, the default): with a major-roads
graph, neighbours far from any listed road are not sent out to it and back.

Why 15 km/h: the snap leg stands for the minor roads between a neighbourhood
and the (major) road network, which are not in the graph. It is driven slowly
(20-30 km/h on residential streets, with junctions and parking) along a route
about 1.3 times the straight line, and part of it may be walked; 15 km/h on the
straight line is about 20 km/h on the real route. Set it to your network: with
a full street graph (OSMnx "drive"), snap distances are short and the value
matters little; with a major-roads-only graph (the London MRN) it matters more.

Shortest paths use ``scipy.sparse.csgraph.dijkstra`` from the distinct site
nodes with a cutoff at the longest limit, in blocks of sites to bound memory.
For directed graphs (one-way streets) the search runs on the reversed graph, so
times are from the area to the site.

Disconnected networks are reported, not hidden: :attr:`RoadNetwork.components`
counts the components and the nodes outside the largest, and every
:meth:`~RoadNetwork.travel_times` call logs a warning naming the areas and
sites snapped onto a smaller component (also in
:attr:`RoadNetwork.last_snap`). Pairs on different components have no route
and are left out of the table.
"""

from __future__ import annotations

import logging
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp
from pyproj import CRS, Transformer
from scipy.sparse.csgraph import connected_components, dijkstra
from scipy.spatial import cKDTree

from polygeo.crs import metric_crs, to_metric
from polygeo.errors import CRSError, InputError
from polygeo.travel._common import area_ids, area_xy, progress_bar, site_ids, site_xy
from polygeo.travel.limits import TravelLimit, as_limit
from polygeo.travel.straight_line import StraightLine
from polygeo.travel.table import make_table

log = logging.getLogger("polygeo")

#: Default speed (km/h) of the straight access legs between areas/sites and their nearest node.
DEFAULT_ACCESS_SPEED_KMH = 15.0
#: Default road speed (km/h) when lines carry no speed.
DEFAULT_ROAD_SPEED_KMH = 30.0
#: Default distance (m) within which line vertices are joined into one node.
DEFAULT_JOIN_TOLERANCE_M = 1.0

# bound on the floats held per block of Dijkstra output (block x nodes, block x areas)
_BLOCK_FLOATS = 16_000_000


def _number(value: object, name: str, *, positive: bool = True) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise InputError(f"{name} must be a number, got {value!r}")
    value = float(value)
    if not math.isfinite(value) or (value <= 0 if positive else value < 0):
        raise InputError(
            f"{name} must be a finite number {'> 0' if positive else '>= 0'}, got {value!r}"
        )
    return value


@dataclass(frozen=True)
class ComponentReport:
    """Connectivity of a road network.

    Attributes
    ----------
    n_nodes, n_edges
        Graph size (undirected edges counted once).
    n_components
        Connected components (weakly connected for directed graphs).
    largest_nodes
        Nodes in the largest component.
    nodes_outside_largest
        Nodes on every other component.
    sizes
        Sizes of the ten largest components.
    """

    n_nodes: int
    n_edges: int
    n_components: int
    largest_nodes: int
    nodes_outside_largest: int
    sizes: tuple[int, ...]

    def format_text(self) -> str:
        """One line for logs and reports."""
        text = f"{self.n_nodes:,} nodes, {self.n_edges:,} edges, {self.n_components} component(s)"
        if self.n_components > 1:
            text += (
                f"; {self.nodes_outside_largest:,} nodes outside the largest "
                f"(component sizes {list(self.sizes)})"
            )
        return text


@dataclass
class SnapReport:
    """How areas and sites were attached to the network in one ``travel_times`` call.

    Attributes
    ----------
    areas_outside_largest, sites_outside_largest
        Ids of the areas / sites whose nearest node is not on the largest component
        (they reach only what is on their own component).
    area_snap_m, site_snap_m
        Snap distances in metres (one per area / site, frame order).
    access_speed_kmh
        The speed the snap distances were covered at.
    """

    areas_outside_largest: list[str] = field(default_factory=list)
    sites_outside_largest: list[str] = field(default_factory=list)
    area_snap_m: np.ndarray = field(default_factory=lambda: np.zeros(0))
    site_snap_m: np.ndarray = field(default_factory=lambda: np.zeros(0))
    access_speed_kmh: float = DEFAULT_ACCESS_SPEED_KMH

    def format_text(self) -> str:
        """A short readable summary."""
        lines = []
        for what, snap, outside in (
            ("areas", self.area_snap_m, self.areas_outside_largest),
            ("sites", self.site_snap_m, self.sites_outside_largest),
        ):
            if len(snap):
                lines.append(
                    f"{len(snap):,} {what} snapped to the network: median {np.median(snap):.0f} m, "
                    f"max {snap.max():.0f} m (at {self.access_speed_kmh:g} km/h)"
                )
            if outside:
                lines.append(
                    f"{len(outside):,} {what} are on a component other than the largest, "
                    f"e.g. {outside[:5]}"
                )
        return "\n".join(lines)


class RoadNetwork:
    """A road graph whose edge weights are minutes.

    Build it with :meth:`from_lines` or :meth:`from_graphml`; the constructor
    takes plain arrays.

    Parameters
    ----------
    x, y
        Node coordinates in ``crs`` (metres).
    tails, heads
        Edge end node positions.
    minutes
        Edge travel times.
    crs
        The network's metric CRS (areas and sites must use it).
    directed
        Edges run tail -> head only (else both ways).
    access_speed_kmh
        Speed of the straight access legs (see the module notes; default 15).
    snap_to_largest
        Snap areas and sites only to nodes of the largest component, so that
        every area can reach every site (longer access legs for the others).
        Default False: snap to the nearest node and report the ones outside.
    direct_access
        Also allow the direct straight line from area to site at
        ``access_speed_kmh``, and keep the faster (default True). Without it,
        an area and a site side by side but both far from a sparse network
        would be routed out to the network and back (central London has no MRN
        roads: the City of London's LSOA is 7.5 km from the nearest MRN node).
    progress
        Progress bars on a terminal (never when not a TTY); ``False`` hides them.
    source
        Where the network came from, for messages.
    """

    def __init__(
        self,
        x: np.ndarray,
        y: np.ndarray,
        tails: np.ndarray,
        heads: np.ndarray,
        minutes: np.ndarray,
        *,
        crs: str | int | CRS | None = None,
        directed: bool = False,
        access_speed_kmh: float = DEFAULT_ACCESS_SPEED_KMH,
        snap_to_largest: bool = False,
        direct_access: bool = True,
        progress: bool | None = None,
        source: str = "the road network",
    ) -> None:
        self.crs = metric_crs(crs)
        self.direct_access = bool(direct_access)
        self.source = source
        self.access_speed_kmh = _number(access_speed_kmh, "access_speed_kmh")
        self.snap_to_largest = bool(snap_to_largest)
        self.progress = progress
        self.directed = bool(directed)
        self.xy = np.column_stack([np.asarray(x, dtype="float64"), np.asarray(y, dtype="float64")])
        n = len(self.xy)
        if n == 0:
            raise InputError(f"{source} has no nodes; give road lines or a graph with edges")
        u = np.asarray(tails, dtype=np.int64)
        v = np.asarray(heads, dtype=np.int64)
        w = np.asarray(minutes, dtype="float64")
        if len(u) and (u.min() < 0 or v.min() < 0 or max(u.max(), v.max()) >= n):
            raise InputError(f"{source}: an edge names a node that does not exist")
        bad = ~np.isfinite(w) | (w < 0)
        if bad.any():
            raise InputError(
                f"{source}: {int(bad.sum())} edges have missing or negative travel times"
            )
        keep = u != v
        u, v, w = u[keep], v[keep], np.maximum(w[keep], 1e-9)  # csgraph drops explicit zeros
        n_edges = len(u)
        if not self.directed:
            u, v, w = np.concatenate([u, v]), np.concatenate([v, u]), np.concatenate([w, w])
        # parallel edges: keep the fastest
        order = np.lexsort((w, v, u))
        u, v, w = u[order], v[order], w[order]
        first = np.ones(len(u), dtype=bool)
        first[1:] = (u[1:] != u[:-1]) | (v[1:] != v[:-1])
        u, v, w = u[first], v[first], w[first]
        self.graph = sp.csr_matrix((w, (u, v)), shape=(n, n))
        # areas travel to sites: search from the sites on the reversed graph
        self._search_graph = self.graph.T.tocsr() if self.directed else self.graph
        ncomp, labels = connected_components(self.graph, directed=self.directed, connection="weak")
        sizes = np.bincount(labels, minlength=ncomp)
        self._labels = labels
        self._largest = int(np.argmax(sizes)) if ncomp else 0
        self.components = ComponentReport(
            n_nodes=n,
            n_edges=n_edges if self.directed else int(len(u) // 2),
            n_components=int(ncomp),
            largest_nodes=int(sizes.max()),
            nodes_outside_largest=int(n - sizes.max()),
            sizes=tuple(int(s) for s in np.sort(sizes)[::-1][:10]),
        )
        if ncomp > 1:
            log.warning(
                "%s is not fully connected: %s. Areas and sites snapped to a smaller "
                "component reach only that component (snap_to_largest=True snaps them to the "
                "largest instead).",
                source,
                self.components.format_text(),
            )
        else:
            log.info("%s: %s", source, self.components.format_text())
        snap_nodes = (
            np.flatnonzero(labels == self._largest) if self.snap_to_largest else np.arange(n)
        )
        self._snap_nodes = snap_nodes
        self._snap_tree = cKDTree(self.xy[snap_nodes])
        self.last_snap: SnapReport | None = None
        #: total length of the road lines (set by :meth:`from_lines`)
        self.length_km: float | None = None

    def __repr__(self) -> str:
        return f"RoadNetwork({self.components.format_text()}, crs={self.crs.to_string()})"

    # -- constructors -------------------------------------------------------

    @classmethod
    def from_lines(
        cls,
        lines,
        *,
        speed_kmh: float = DEFAULT_ROAD_SPEED_KMH,
        speed_column: str | None = None,
        crs: str | int | CRS | None = None,
        assume_crs: str | int | CRS | None = None,
        join_tolerance_m: float = DEFAULT_JOIN_TOLERANCE_M,
        join_parts: bool = True,
        access_speed_kmh: float = DEFAULT_ACCESS_SPEED_KMH,
        snap_to_largest: bool = False,
        direct_access: bool = True,
        progress: bool | None = None,
    ) -> RoadNetwork:
        """Build an undirected network from road line geometries.

        Every vertex of every line is a potential node; vertices within
        ``join_tolerance_m`` of each other (on any lines) become one node, so
        lines meeting at a shared end or vertex join. Lines crossing without a
        shared vertex (bridges, tunnels) do not. Edge time = segment length /
        speed.

        Parameters
        ----------
        lines
            A GeoDataFrame / GeoSeries of (Multi)LineStrings, or a path to a
            file geopandas reads (Shapefile, GeoPackage, ...).
        speed_kmh
            Road speed for every line (or lines with no ``speed_column`` value).
        speed_column
            A column of speeds in km/h per line.
        crs
            The working metric CRS (default British National Grid); lines are projected to it.
        assume_crs
            CRS of lines that carry none.
        join_tolerance_m
            Vertices closer than this are one node (default 1 m). Digitised
            junctions often miss by a fraction of a metre: at 0.1 m a 2,819-node
            part of the London MRN stays apart from the rest; at 1 m it joins.
            0 joins exactly equal coordinates only.
        join_parts
            Treat the parts of a MultiLineString as one road with gaps: join each
            part to the next by a straight segment between their nearest ends, at
            the line's speed (default True). The London MRN has six such
            features, with gaps of 17-125 m at junctions; one of them is the only
            link between two halves of the network (7,005 and 5,404 nodes), so
            without the join London splits in two. False keeps parts apart.
        access_speed_kmh, snap_to_largest, direct_access, progress
            See :class:`RoadNetwork`.

        Returns
        -------
        RoadNetwork
        """
        import geopandas as gpd
        import shapely

        source = "road lines"
        if isinstance(lines, (str, os.PathLike)):
            path = Path(lines)
            if not path.exists():
                raise InputError(f"road network file {path} not found")
            try:
                lines = gpd.read_file(path)
            except Exception as exc:
                raise InputError(f"cannot read road lines from {path}: {exc}") from exc
            source = f"road network {path.name}"
        if isinstance(lines, gpd.GeoSeries):
            lines = gpd.GeoDataFrame(geometry=lines)
        if not isinstance(lines, gpd.GeoDataFrame):
            raise InputError(
                f"road lines must be a GeoDataFrame or a file path, got {type(lines).__name__}"
            )
        speed_kmh = _number(speed_kmh, "speed_kmh")
        tol = _number(join_tolerance_m, "join_tolerance_m", positive=False)
        lines = to_metric(lines, crs, source=source, assume_crs=assume_crs)
        geoms = lines.geometry.to_numpy()
        is_line = np.isin(shapely.get_type_id(geoms), [1, 5])  # LineString, MultiLineString
        if (~is_line).any():
            log.warning(
                "%s: ignoring %d geometries that are not lines", source, int((~is_line).sum())
            )
        if speed_column is not None:
            if speed_column not in lines.columns:
                raise InputError(
                    f"{source} has no speed column {speed_column!r} "
                    f"(columns: {[c for c in lines.columns if c != lines.geometry.name][:15]})"
                )
            speeds = pd.to_numeric(lines[speed_column], errors="coerce").to_numpy(dtype="float64")
            bad = ~(np.isfinite(speeds) & (speeds > 0))
            if bad.any():
                log.warning(
                    "%s: %d lines have no usable %r; they use %g km/h",
                    source,
                    int(bad.sum()),
                    speed_column,
                    speed_kmh,
                )
            speeds = np.where(bad, speed_kmh, speeds)
        else:
            speeds = np.full(len(lines), speed_kmh)
        parts, part_of = shapely.get_parts(geoms[is_line], return_index=True)
        part_speed = speeds[is_line][part_of]
        coords, vertex_part = shapely.get_coordinates(parts, return_index=True)
        if len(coords) < 2:
            raise InputError(f"{source} holds no road lines")
        label, node_xy = _join_vertices(coords, tol)
        tails = [np.flatnonzero(vertex_part[1:] == vertex_part[:-1])]
        heads = [tails[0] + 1]
        if join_parts:
            gap_t, gap_h = _part_gaps(coords, vertex_part, part_of)
            if len(gap_t):
                gaps = np.hypot(*(coords[gap_h] - coords[gap_t]).T)
                log.info(
                    "%s: joined %d gaps between the parts of multi-part lines (%.0f-%.0f m)",
                    source,
                    len(gap_t),
                    gaps.min(),
                    gaps.max(),
                )
            tails.append(gap_t)
            heads.append(gap_h)
        tail, head = np.concatenate(tails), np.concatenate(heads)
        length_m = np.hypot(*(coords[head] - coords[tail]).T)
        minutes = length_m / 1000.0 / part_speed[vertex_part[tail]] * 60.0
        net = cls(
            node_xy[:, 0],
            node_xy[:, 1],
            label[tail],
            label[head],
            minutes,
            crs=lines.crs,
            directed=False,
            access_speed_kmh=access_speed_kmh,
            snap_to_largest=snap_to_largest,
            direct_access=direct_access,
            progress=progress,
            source=source,
        )
        net.length_km = float(length_m[: len(tails[0])].sum() / 1000.0)  # lines, not gaps
        return net

    @classmethod
    def from_graphml(
        cls,
        path: str | os.PathLike,
        *,
        speed_kmh: float = DEFAULT_ROAD_SPEED_KMH,
        crs: str | int | CRS | None = None,
        assume_crs: str | int | CRS | None = None,
        time_attribute: str = "travel_time",
        time_unit: str = "s",
        access_speed_kmh: float = DEFAULT_ACCESS_SPEED_KMH,
        snap_to_largest: bool = False,
        direct_access: bool = True,
        progress: bool | None = None,
    ) -> RoadNetwork:
        """Load a GraphML road graph, such as one saved by OSMnx.

        Nodes need ``x`` / ``y`` attributes in the graph's CRS (graph attribute
        ``crs``; OSMnx uses ``epsg:4326`` unless projected); they are projected
        to ``crs``. Edge time: ``time_attribute`` when present (OSMnx's
        ``travel_time`` is in seconds), else ``length`` (metres) / ``speed_kph``
        when present, else / ``speed_kmh``; edges without ``length`` use the
        straight line between their nodes. Directed graphs (OSMnx MultiDiGraph)
        keep one-way streets; parallel edges keep the fastest.

        Parameters
        ----------
        path
            The ``.graphml`` file.
        speed_kmh
            Speed for edges without a time or speed.
        crs
            Working metric CRS (default British National Grid).
        assume_crs
            CRS of the node coordinates when the graph names none.
        time_attribute, time_unit
            Edge attribute holding travel time and its unit (``"s"`` or ``"min"``).
        access_speed_kmh, snap_to_largest, direct_access, progress
            See :class:`RoadNetwork`.

        Returns
        -------
        RoadNetwork
        """
        import networkx as nx

        path = Path(path)
        if not path.exists():
            raise InputError(f"GraphML file {path} not found")
        speed_kmh = _number(speed_kmh, "speed_kmh")
        if time_unit not in ("s", "min"):
            raise InputError(f"time_unit must be 's' or 'min', got {time_unit!r}")
        try:
            g = nx.read_graphml(path)
        except Exception as exc:
            raise InputError(f"cannot read GraphML {path}: {exc}") from exc
        source = f"road graph {path.name}"
        names = list(g.nodes)
        position = {name: i for i, name in enumerate(names)}
        try:
            x = np.array([float(g.nodes[n]["x"]) for n in names])
            y = np.array([float(g.nodes[n]["y"]) for n in names])
        except (KeyError, TypeError, ValueError) as exc:
            raise InputError(
                f"{source}: every node needs numeric 'x' and 'y' attributes ({exc!r})"
            ) from exc
        graph_crs = g.graph.get("crs") or assume_crs
        if graph_crs is None:
            raise CRSError(
                f"{source} names no CRS (graph attribute 'crs'); pass assume_crs, "
                "e.g. assume_crs='EPSG:4326' for OSMnx longitude/latitude"
            )
        target = metric_crs(crs) if crs is not None else None
        source_crs = CRS.from_user_input(graph_crs)
        if target is None:
            target = source_crs if source_crs.is_projected else metric_crs(None)
            target = metric_crs(target)
        if source_crs != target:
            x, y = Transformer.from_crs(source_crs, target, always_xy=True).transform(x, y)
            x, y = np.asarray(x), np.asarray(y)
        tails, heads, minutes = [], [], []
        factor = 1 / 60.0 if time_unit == "s" else 1.0
        for a, b, data in g.edges(data=True):
            i, j = position[a], position[b]
            t = _float(data.get(time_attribute))
            if t is not None:
                t *= factor
            else:
                length = _float(data.get("length"))
                if length is None:
                    length = float(np.hypot(x[i] - x[j], y[i] - y[j]))
                speed = _float(data.get("speed_kph")) or speed_kmh
                t = length / 1000.0 / speed * 60.0
            tails.append(i)
            heads.append(j)
            minutes.append(t)
        return cls(
            x,
            y,
            np.array(tails, dtype=np.int64),
            np.array(heads, dtype=np.int64),
            np.array(minutes, dtype="float64"),
            crs=target,
            directed=g.is_directed(),
            access_speed_kmh=access_speed_kmh,
            snap_to_largest=snap_to_largest,
            direct_access=direct_access,
            progress=progress,
            source=source,
        )

    # -- travel times -------------------------------------------------------

    def snap(self, xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Nearest node (position) and snap distance (m) of each point."""
        dist, k = self._snap_tree.query(np.asarray(xy, dtype="float64"))
        return self._snap_nodes[k], dist

    def access_minutes(self, distance_m: np.ndarray) -> np.ndarray:
        """Minutes to cover snap distances at ``access_speed_kmh``."""
        return np.asarray(distance_m) / 1000.0 / self.access_speed_kmh * 60.0

    def _check_crs(self, frame: pd.DataFrame, what: str) -> None:
        crs = getattr(frame, "crs", None)
        if crs is not None and CRS.from_user_input(crs) != self.crs:
            raise CRSError(
                f"the {what} are in {CRS.from_user_input(crs).to_string()} but {self.source} is in "
                f"{self.crs.to_string()}; project them: "
                f"{what} = {what}.to_crs({self.crs.to_string()!r})"
            )

    def travel_times(
        self,
        areas: pd.DataFrame,
        sites: pd.DataFrame,
        limit: TravelLimit | float | None = None,
        *,
        progress: bool | None = None,
    ) -> pd.DataFrame:
        """Network travel times from each area to each site within the limit.

        Parameters
        ----------
        areas
            Areas frame (``area_id``, ``origin_x``, ``origin_y``) in the network's CRS.
        sites
            Sites frame (``site_id``, Points; ``kind`` for per-kind limits).
        limit
            A :class:`TravelLimit` (a number = global limit); ``None``: every
            reachable pair (pairs with no route are left out).
        progress
            Progress bar on a terminal; ``False`` hides it (default: the provider's setting).

        Returns
        -------
        pandas.DataFrame
            The travel table. The snapping is reported in :attr:`last_snap`.
        """
        aids, sids = area_ids(areas), site_ids(sites)
        self._check_crs(areas, "areas")
        self._check_crs(sites, "sites")
        a_node, a_snap = self.snap(area_xy(areas))
        s_node, s_snap = self.snap(site_xy(sites))
        a_access = self.access_minutes(a_snap)
        s_access = self.access_minutes(s_snap)
        report = SnapReport(
            areas_outside_largest=aids[self._labels[a_node] != self._largest].tolist(),
            sites_outside_largest=sids[self._labels[s_node] != self._largest].tolist(),
            area_snap_m=a_snap,
            site_snap_m=s_snap,
            access_speed_kmh=self.access_speed_kmh,
        )
        self.last_snap = report
        if report.areas_outside_largest or report.sites_outside_largest:
            log.warning(
                "%s: %d areas (e.g. %s) and %d sites (e.g. %s) snapped onto a component other "
                "than the largest; they reach only places on their own component",
                self.source,
                len(report.areas_outside_largest),
                report.areas_outside_largest[:3],
                len(report.sites_outside_largest),
                report.sites_outside_largest[:3],
            )
        limit = as_limit(limit)
        if limit is not None:
            area_lim = limit.area_limits(areas)
            site_lim = limit.site_limits(sites)
            cutoff = limit.max_minutes(areas, sites)
        else:
            cutoff = np.inf
        uniq, inv = np.unique(s_node, return_inverse=True)
        n_nodes = len(self.xy)
        block = max(1, _BLOCK_FLOATS // max(n_nodes, len(aids), 1))
        out_a, out_s, out_m = [], [], []
        starts = range(0, len(uniq), block)
        show = self.progress if progress is None else progress
        for k0 in progress_bar(starts, enabled=show, total=len(starts), desc="network"):
            nodes = uniq[k0 : k0 + block]
            if len(aids) == 0:
                break
            budget = max(cutoff - a_access.min() - s_access[np.isin(s_node, nodes)].min(), 0.0)
            dist = dijkstra(
                self._search_graph, directed=True, indices=nodes, limit=budget
            )  # (block, n_nodes): from site node to every node on the reversed graph
            to_areas = dist[:, a_node]  # (block, n_areas)
            sel = np.flatnonzero((inv >= k0) & (inv < k0 + len(nodes)))
            rows = inv[sel] - k0
            si, ai = np.nonzero(np.isfinite(to_areas[rows]))
            s_idx = sel[si]
            m = to_areas[rows[si], ai] + a_access[ai] + s_access[s_idx]
            if limit is not None:
                ok = m <= limit.pair_limits(ai, s_idx, area_limits=area_lim, site_limits=site_lim)
                ai, s_idx, m = ai[ok], s_idx[ok], m[ok]
            out_a.append(ai)
            out_s.append(s_idx)
            out_m.append(m.astype(np.float32))
        if self.direct_access:
            walk = StraightLine(60.0 / self.access_speed_kmh, progress=False)
            axy, sxy = area_xy(areas), site_xy(sites)
            if limit is None:
                da, ds, dm = walk._all_pairs(axy, sxy, False)
            else:
                da, ds, dm = walk._within(areas, sites, axy, sxy, limit, False)
            out_a.append(da)
            out_s.append(ds)
            out_m.append(dm)
        if out_a:
            a, s, m = np.concatenate(out_a), np.concatenate(out_s), np.concatenate(out_m)
            a, s, m = _fastest(a, s, m, len(sids))
        else:
            a = s = np.zeros(0, dtype=np.int64)
            m = np.zeros(0, dtype=np.float32)
        table = make_table(a, s, m, area_ids=aids, site_ids=sids)
        log.info(
            "network travel times: %d pairs for %d areas x %d sites (%s)",
            len(table),
            len(aids),
            len(sids),
            "no limit" if limit is None else limit.describe(),
        )
        return table


def _float(value: object) -> float | None:
    """A finite float from a GraphML attribute (OSMnx stores lists as strings), else None."""
    if value is None:
        return None
    if isinstance(value, str) and value.startswith("["):
        value = value.strip("[]").split(",")[0]
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return out if math.isfinite(out) else None


def _fastest(a: np.ndarray, s: np.ndarray, m: np.ndarray, n_sites: int):
    """Keep the smallest time of each (area, site) pair given more than once."""
    key = a.astype(np.int64) * max(n_sites, 1) + s
    order = np.lexsort((m, key))
    key = key[order]
    first = np.ones(len(key), dtype=bool)
    first[1:] = key[1:] != key[:-1]
    keep = order[first]
    return a[keep], s[keep], m[keep]


def _part_gaps(
    coords: np.ndarray, vertex_part: np.ndarray, part_of: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Vertex pairs joining consecutive parts of the same multi-part line at their nearest ends."""
    n_parts = len(part_of)
    first = np.searchsorted(vertex_part, np.arange(n_parts), side="left")
    last = np.searchsorted(vertex_part, np.arange(n_parts), side="right") - 1
    p = np.flatnonzero((part_of[1:] == part_of[:-1]) & (first[:-1] <= last[:-1]))
    p = p[first[p + 1] <= last[p + 1]]  # both parts have vertices
    if not len(p):
        z = np.zeros(0, dtype=np.int64)
        return z, z
    a_ends = np.stack([first[p], last[p]], axis=1)  # (k, 2)
    b_ends = np.stack([first[p + 1], last[p + 1]], axis=1)
    d = np.hypot(
        coords[a_ends][:, :, None, 0] - coords[b_ends][:, None, :, 0],
        coords[a_ends][:, :, None, 1] - coords[b_ends][:, None, :, 1],
    ).reshape(len(p), 4)
    best = d.argmin(axis=1)
    rows = np.arange(len(p))
    return a_ends[rows, best // 2], b_ends[rows, best % 2]


def _join_vertices(coords: np.ndarray, tol: float) -> tuple[np.ndarray, np.ndarray]:
    """Cluster vertices closer than ``tol``: node label per vertex and node coordinates."""
    n = len(coords)
    if tol > 0:
        pairs = cKDTree(coords).query_pairs(tol, output_type="ndarray")
        adj = sp.coo_matrix(
            (np.ones(len(pairs), dtype=np.int8), (pairs[:, 0], pairs[:, 1])), shape=(n, n)
        )
        _, label = connected_components(adj, directed=False)
    else:
        _, label = np.unique(coords, axis=0, return_inverse=True)
        label = label.ravel()
    counts = np.bincount(label)
    node_xy = np.column_stack(
        [
            np.bincount(label, weights=coords[:, 0]) / counts,
            np.bincount(label, weights=coords[:, 1]) / counts,
        ]
    )
    return label.astype(np.int64), node_xy
