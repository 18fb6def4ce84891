"""Road-network travel times: hand-built graphs with known shortest paths, and the London MRN."""

from __future__ import annotations

import logging

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import LineString, MultiLineString
from travel_frames import as_dict, make_sites
from travel_frames import make_areas as _make_areas

from polygeo.errors import CRSError, InputError
from polygeo.travel import RoadNetwork, TravelLimit, TravelProvider


def make_areas(xy, ids=None, crs="EPSG:27700"):
    return _make_areas(xy, ids, crs, population=1000.0)


@pytest.fixture
def grid_lines():
    """A ladder: A(0,0)-B(1000,0)-C(2000,0) fast along y=0 at 60 km/h (1 min/km), a slow
    detour A-D(0,1000)-E(2000,1000)-C at 30 km/h, and a spur C-F(2000,3000) drawn as two
    lines meeting at a shared vertex (2000,2000)."""
    lines = [
        LineString([(0, 0), (500, 0), (1000, 0)]),  # A-B with an inner vertex
        LineString([(1000, 0), (2000, 0)]),  # B-C
        LineString([(0, 0), (0, 1000), (2000, 1000), (2000, 0)]),  # A-D-E-C
        LineString([(2000, 0), (2000, 2000)]),
        LineString([(2000, 2000), (2000, 3000)]),
    ]
    speed = [60, 60, 30, 60, 60]
    return gpd.GeoDataFrame({"kmh": speed}, geometry=lines, crs="EPSG:27700")


def test_known_shortest_paths(grid_lines):
    net = RoadNetwork.from_lines(grid_lines, speed_column="kmh")
    assert net.components.n_components == 1
    assert net.components.n_nodes == 8  # A, (500,0), B, C, D, E, (2000,2000), F
    areas = make_areas([[0, 0], [1000, 0]], ids=["A", "B"])
    sites = make_sites([[2000, 0], [2000, 3000], [0, 1000]], ids=["C", "F", "D"])
    got = as_dict(net.travel_times(areas, sites))
    assert got[("A", "C")] == pytest.approx(2.0)  # 2 km at 1 min/km, not the 4 km detour
    assert got[("B", "C")] == pytest.approx(1.0)
    assert got[("A", "F")] == pytest.approx(5.0)  # 2 km + 3 km of spur
    assert got[("A", "D")] == pytest.approx(2.0)  # 1 km at 30 km/h
    assert got[("B", "D")] == pytest.approx(3.0)  # back to A (1 min) then up (2 min)
    assert net.last_snap.area_snap_m.tolist() == [0.0, 0.0]


def test_uniform_speed_and_limit(grid_lines):
    net = RoadNetwork.from_lines(grid_lines, speed_kmh=30)  # 2 min/km everywhere
    areas = make_areas([[0, 0]], ids=["A"])
    sites = make_sites([[2000, 0], [2000, 3000]], ids=["C", "F"], kinds=["gp", "hospital"])
    assert as_dict(net.travel_times(areas, sites)) == {("A", "C"): 4.0, ("A", "F"): 10.0}
    assert as_dict(net.travel_times(areas, sites, TravelLimit(9))) == {("A", "C"): 4.0}
    with_kind = TravelLimit(9, per_kind={"hospital": 10})
    assert set(as_dict(net.travel_times(areas, sites, with_kind))) == {("A", "C"), ("A", "F")}
    strict = TravelLimit(9, per_area=pd.Series({"A": 3.0}), per_kind={"hospital": 10})
    assert as_dict(net.travel_times(areas, sites, strict)) == {}


def test_snap_access_time(grid_lines):
    net = RoadNetwork.from_lines(grid_lines, speed_column="kmh", access_speed_kmh=15)
    # 300 m below A and 400 m right of C: nearest nodes A and C
    areas = make_areas([[0, -300]], ids=["a"])
    sites = make_sites([[2400, 0]], ids=["c"])
    got = as_dict(net.travel_times(areas, sites))
    # access 0.3 km + 0.4 km at 15 km/h = 2.8 min, plus 2 min of road
    assert got[("a", "c")] == pytest.approx(2.0 + 0.7 / 15 * 60)
    np.testing.assert_allclose(net.last_snap.area_snap_m, [300.0])
    np.testing.assert_allclose(net.last_snap.site_snap_m, [400.0])
    assert "max 300 m (at 15 km/h)" in net.last_snap.format_text()


def test_direct_access_beats_a_detour_to_the_network():
    lines = gpd.GeoDataFrame(geometry=[LineString([(0, 0), (1000, 0)])], crs="EPSG:27700")
    # area and site side by side, 3 km from the road
    areas = make_areas([[0, 3000]])
    sites = make_sites([[300, 3000]])
    via_road = RoadNetwork.from_lines(lines, speed_kmh=60, direct_access=False)
    assert as_dict(via_road.travel_times(areas, sites)) == {
        # both snap to (0, 0): 3 km and 3.015 km at 15 km/h (4 min/km)
        ("A0", "S0"): pytest.approx((3 + np.hypot(0.3, 3)) * 4, rel=1e-5)
    }
    net = RoadNetwork.from_lines(lines, speed_kmh=60)
    assert as_dict(net.travel_times(areas, sites)) == {("A0", "S0"): pytest.approx(1.2)}
    assert as_dict(net.travel_times(areas, sites, TravelLimit(1))) == {}
    assert len(net.travel_times(areas, sites, TravelLimit(1.2))) == 1


def test_same_node_and_shared_nodes():
    lines = gpd.GeoDataFrame(geometry=[LineString([(0, 0), (1000, 0)])], crs="EPSG:27700")
    net = RoadNetwork.from_lines(lines, speed_kmh=60, access_speed_kmh=6, direct_access=False)
    areas = make_areas([[0, 100], [1000, 0]])
    sites = make_sites([[0, 0], [0, 0], [1000, 0]])  # two sites on one node
    got = as_dict(net.travel_times(areas, sites))
    assert got[("A0", "S0")] == pytest.approx(1.0)  # 100 m at 6 km/h
    assert got[("A0", "S1")] == pytest.approx(1.0)
    assert got[("A0", "S2")] == pytest.approx(2.0)
    assert got[("A1", "S2")] == 0.0
    assert got[("A1", "S0")] == pytest.approx(1.0)


def test_join_tolerance():
    # two lines whose ends are 0.5 m apart
    lines = gpd.GeoDataFrame(
        geometry=[LineString([(0, 0), (1000, 0)]), LineString([(1000.5, 0), (2000, 0)])],
        crs="EPSG:27700",
    )
    assert RoadNetwork.from_lines(lines).components.n_components == 1  # default 1 m
    assert RoadNetwork.from_lines(lines, join_tolerance_m=0.1).components.n_components == 2
    assert RoadNetwork.from_lines(lines, join_tolerance_m=0).components.n_components == 2


def test_multilinestring_parts_joined_at_nearest_ends():
    # the second part is drawn backwards: its nearest end to (1000, 0) is (1100, 0)
    lines = gpd.GeoDataFrame(
        geometry=[MultiLineString([[(0, 0), (1000, 0)], [(2100, 0), (1100, 0)]])],
        crs="EPSG:27700",
    )
    net = RoadNetwork.from_lines(lines, speed_kmh=60, direct_access=False)
    assert net.components.n_components == 1
    assert net.components.n_edges == 3
    assert net.length_km == pytest.approx(2.0)  # the gap is not road length
    got = as_dict(net.travel_times(make_areas([[0, 0]]), make_sites([[2100, 0]])))
    assert got == {("A0", "S0"): pytest.approx(2.1)}
    apart = RoadNetwork.from_lines(lines, join_parts=False)
    assert apart.components.n_components == 2
    assert apart.components.n_edges == 2


def test_disconnected_network_is_reported(caplog):
    lines = gpd.GeoDataFrame(
        geometry=[
            LineString([(0, 0), (1000, 0), (2000, 0)]),  # main part: 3 nodes
            LineString([(0, 5000), (1000, 5000)]),  # island: 2 nodes
        ],
        crs="EPSG:27700",
    )
    with caplog.at_level(logging.WARNING, logger="polygeo"):
        net = RoadNetwork.from_lines(lines, speed_kmh=60, direct_access=False)
    assert "not fully connected" in caplog.text
    c = net.components
    assert (c.n_components, c.largest_nodes, c.nodes_outside_largest) == (2, 3, 2)
    assert c.sizes == (3, 2)
    areas = make_areas([[0, 10], [0, 4990]], ids=["main", "island"])
    sites = make_sites([[2000, 0], [1000, 5000]], ids=["s_main", "s_island"])
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="polygeo"):
        got = as_dict(net.travel_times(areas, sites))
    assert "1 areas" in caplog.text and "island" in caplog.text
    assert net.last_snap.areas_outside_largest == ["island"]
    assert net.last_snap.sites_outside_largest == ["s_island"]
    # no route between the parts: those pairs are absent, not zero
    assert set(got) == {("main", "s_main"), ("island", "s_island")}
    assert "on a component other than the largest" in net.last_snap.format_text()

    snapped = RoadNetwork.from_lines(lines, speed_kmh=60, snap_to_largest=True, direct_access=False)
    got = as_dict(snapped.travel_times(areas, sites))
    assert snapped.last_snap.areas_outside_largest == []
    assert set(got) == {("main", "s_main"), ("main", "s_island"), ("island", "s_main"),
                        ("island", "s_island")}  # fmt: skip
    # the island area walks 4,990 m to (0,0) at 15 km/h
    assert got[("island", "s_main")] == pytest.approx(2.0 + 4.99 / 15 * 60, rel=1e-5)


def graphml_file(tmp_path, crs="EPSG:27700", directed=True):
    g = nx.MultiDiGraph() if directed else nx.Graph()
    g.graph["crs"] = crs
    if crs == "EPSG:27700":
        pos = {"a": (0, 0), "b": (1000, 0), "c": (2000, 0)}
    else:  # roughly 1 km apart near London
        pos = {"a": (-0.1, 51.5), "b": (-0.0856, 51.5), "c": (-0.0712, 51.5)}
    for n, (x, y) in pos.items():
        g.add_node(n, x=str(x), y=str(y))  # OSMnx writes attributes as strings
    g.add_edge("a", "b", length="1000", travel_time="60")  # 1 min
    g.add_edge("b", "c", length="1000", speed_kph="30")  # 2 min
    g.add_edge("c", "b", length="1000", speed_kph="30")
    if directed:
        g.add_edge("b", "a", length="3000")  # back: the long way, 6 min at 30 km/h
    path = tmp_path / "roads.graphml"
    nx.write_graphml(g, path)
    return path


def test_graphml_directed_times(tmp_path):
    net = RoadNetwork.from_graphml(graphml_file(tmp_path))
    assert net.directed
    pts = [[0, 0], [2000, 0]]
    forward = as_dict(net.travel_times(make_areas(pts[:1]), make_sites(pts[1:])))
    assert forward == {("A0", "S0"): pytest.approx(3.0)}  # a->b 1 min, b->c 2 min
    back = as_dict(net.travel_times(make_areas(pts[1:]), make_sites(pts[:1])))
    assert back == {("A0", "S0"): pytest.approx(2.0 + 6.0)}  # c->b 2, b->a 6


def test_graphml_lonlat_is_projected(tmp_path):
    net = RoadNetwork.from_graphml(graphml_file(tmp_path, crs="epsg:4326"))
    assert net.crs.to_epsg() == 27700
    span = net.xy[:, 0].max() - net.xy[:, 0].min()
    assert 1900 < span < 2100  # 0.0288 degrees of longitude at 51.5 N is about 2 km


def test_graphml_errors(tmp_path):
    with pytest.raises(InputError, match="not found"):
        RoadNetwork.from_graphml(tmp_path / "absent.graphml")
    g = nx.Graph()
    g.add_node(1, x="0", y="0")
    g.add_node(2, x="1", y="1")
    g.add_edge(1, 2)
    nx.write_graphml(g, tmp_path / "nocrs.graphml")
    with pytest.raises(CRSError, match="assume_crs"):
        RoadNetwork.from_graphml(tmp_path / "nocrs.graphml")
    net = RoadNetwork.from_graphml(tmp_path / "nocrs.graphml", assume_crs="EPSG:27700")
    assert net.components.n_edges == 1


def test_lines_errors(tmp_path, grid_lines):
    with pytest.raises(InputError, match="not found"):
        RoadNetwork.from_lines(tmp_path / "roads.shp")
    with pytest.raises(InputError, match="no speed column 'maxspeed'"):
        RoadNetwork.from_lines(grid_lines, speed_column="maxspeed")
    with pytest.raises(CRSError, match="no coordinate reference system"):
        RoadNetwork.from_lines(grid_lines.set_crs(None, allow_override=True))
    net = RoadNetwork.from_lines(grid_lines)
    with pytest.raises(CRSError, match="EPSG:3857"):
        net.travel_times(make_areas([[0, 0]]).to_crs(3857), make_sites([[0, 0]]))


def test_is_a_travel_provider(grid_lines):
    assert isinstance(RoadNetwork.from_lines(grid_lines), TravelProvider)


@pytest.mark.shared_data
def test_london_mrn(shared_data):
    roads = shared_data / "roads" / "london-2018-MRN.shp"
    net = RoadNetwork.from_lines(roads, speed_kmh=30)
    c = net.components
    assert net.length_km == pytest.approx(415.9, abs=0.5)
    # joined at 1 m, with multi-part lines joined, the MRN is one big component plus
    # four small pieces away from it
    assert c.n_components == 5
    assert c.sizes[1:] == (95, 3, 2, 2)
    assert c.nodes_outside_largest == 102
    split = RoadNetwork.from_lines(roads, join_parts=False).components
    assert split.sizes[:2] == (7005, 5404)  # one multi-part line holds London together

    lsoa = gpd.read_file(shared_data / "london" / "london-2011-lsoa-gen20.shp")
    pick = lsoa.iloc[::400].reset_index(drop=True)  # 13 LSOAs across London
    centroids = pick.geometry.centroid
    xy = np.column_stack([centroids.x, centroids.y])
    areas = make_areas(xy, ids=pick["LSOA11CD"].tolist())
    sites = make_sites(xy[::3], ids=[f"site-{i}" for i in pick["LSOA11CD"][::3]])
    table = net.travel_times(areas, sites)
    got = as_dict(table)
    # every pair on the main component has a route
    outside = set(net.last_snap.areas_outside_largest)
    assert len(outside) == 0 or len(outside) < len(areas) / 2
    assert len(got) == len(areas) * len(sites)  # direct access reaches every pair
    # never faster than the crow flies at the fastest speed used (30 km/h)
    a = table["area_id"].cat.codes.to_numpy()
    s = table["site_id"].cat.codes.to_numpy()
    crow_km = np.hypot(*(xy[a] - xy[::3][s]).T) / 1000
    assert (table["minutes"].to_numpy() >= crow_km / 30 * 60 - 1e-3).all()
    # and never slower than the direct line at the access speed (15 km/h)
    assert (table["minutes"].to_numpy() <= crow_km / 15 * 60 + 1e-3).all()
    # each time is the faster of the direct line and access + shortest path + access,
    # checked against networkx's Dijkstra on the same graph
    graph = nx.from_scipy_sparse_array(net.graph)
    a_node, a_snap = net.snap(xy)
    s_node, s_snap = net.snap(xy[::3])
    for (area, site), minutes in got.items():
        i, j = list(areas["area_id"]).index(area), list(sites["site_id"]).index(site)
        try:
            road = nx.dijkstra_path_length(graph, int(a_node[i]), int(s_node[j]))
        except nx.NetworkXNoPath:
            road = np.inf
        via = road + (a_snap[i] + s_snap[j]) / 1000 / 15 * 60
        direct = np.hypot(*(xy[i] - xy[::3][j])) / 1000 / 15 * 60
        assert minutes == pytest.approx(min(via, direct), rel=1e-5)
    # the network matters: many pairs are faster by road than by the direct line
    assert (table["minutes"].to_numpy() < 0.9 * crow_km / 15 * 60).sum() > 20
    # undirected roads: swapping the roles gives the same times
    back = as_dict(
        net.travel_times(
            make_areas(xy[::3], ids=list(sites["site_id"])),
            make_sites(xy, ids=list(areas["area_id"])),
        )
    )
    for (area, site), minutes in got.items():
        assert back[(site, area)] == pytest.approx(minutes, rel=1e-5)
    # a limit keeps exactly the pairs within it
    limited = as_dict(net.travel_times(areas, sites, TravelLimit(20)))
    assert limited == {k: v for k, v in got.items() if v <= 20}
