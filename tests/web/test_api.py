"""The Open Referral UK API on the dashboard server, checked against the ORUK 3.0 rules: open (no
login, CORS for everyone), the endpoints and page shape of the profile's OpenAPI, every service valid
against the vendored ORUK schema, bad parameters refused by name."""

from __future__ import annotations

import json

import pytest

from triangulate.provision import taxonomy as tx
from triangulate.provision import validate
from triangulate.provision.validate import service_validator

PAGE_KEYS = {"total_items": int, "total_pages": int, "page_number": int, "size": int, "first_page": bool,
             "last_page": bool, "empty": bool, "contents": list}


def get(client, path, status=200):
    response = client.get(path)
    assert response.status_code == status, (path, response.content[:300])
    assert response["Content-Type"].startswith("application/json")
    assert response["Access-Control-Allow-Origin"] == "*"
    return json.loads(response.content)


@pytest.fixture
def anyone(client_for):
    return client_for(None)  # no login: the API is open data


def test_root_says_what_the_api_is(anyone):
    body = get(anyone, "/api/")
    assert body["version"] == "3.0" and body["profile"].startswith("https://")
    assert body["openapi_url"].endswith("/api/openapi.json")
    spec = get(anyone, "/api/openapi.json")
    assert {"/api/services", "/api/services/{id}", "/api/taxonomies", "/api/taxonomy_terms"} <= set(spec["paths"])


def test_pages_of_services_cover_the_directory_once_each(anyone, site):
    whole = get(anyone, "/api/services?per_page=200")
    total = whole["total_items"]
    assert total == whole["totalElements"] == len(whole["contents"]) > 20
    ids, page = [], 1
    while True:
        body = get(anyone, f"/api/services?page={page}&per_page=7")
        for key, kind in PAGE_KEYS.items():
            assert isinstance(body[key], kind), key
        assert body["page_number"] == page and body["total_pages"] == body["totalPages"] == -(-total // 7)
        assert body["size"] == len(body["contents"]) <= 7
        assert body["first_page"] == (page == 1)
        for s in body["contents"]:
            assert not list(service_validator().iter_errors(s))  # id, name, status present and well formed
            assert not any(isinstance(v, (list, dict)) for v in s.values())  # one-to-one fields only
        ids += [s["id"] for s in body["contents"]]
        if body["last_page"]:
            break
        page += 1
    assert len(ids) == len(set(ids)) == total
    beyond = get(anyone, f"/api/services?page={page + 1}&per_page=7")
    assert beyond["empty"] and beyond["contents"] == []


def test_each_service_is_fully_nested_and_valid(anyone):
    listed = get(anyone, "/api/services?per_page=200")["contents"]
    services = [get(anyone, f"/api/services/{s['id']}") for s in listed]
    assert validate(services, "api", [s["id"] for s in services]) == []
    assert all(s["organization"]["name"] for s in services)
    assert any(s.get("capacities") for s in services)


def test_filters_by_taxonomy_term_age_and_search(anyone):
    everyone = get(anyone, "/api/services?per_page=200")["contents"]
    reentry = tx.term("intercept", "4").id
    body = get(anyone, f"/api/services?per_page=200&taxonomy_term_id={reentry}")
    full = [get(anyone, f"/api/services/{s['id']}") for s in everyone]
    expected = {s["id"] for s in full if any(a.get("taxonomy_term_id") == reentry for a in s.get("attributes", []))}
    assert {s["id"] for s in body["contents"]} == expected and expected
    ours = get(anyone, f"/api/services?per_page=200&taxonomy_id={tx.TAXONOMY_ID}")
    assert ours["total_items"] == len(everyone)  # every service has at least one Triangulate term
    young = get(anyone, "/api/services?per_page=200&maximum_age=17")
    assert all(s.get("minimum_age", 0) <= 17 for s in young["contents"])
    assert "Women's centre" not in {s["name"] for s in young["contents"]}  # 18 and over
    found = get(anyone, "/api/services?search=RECONNECT")
    assert found["total_items"] >= 1 and all("RECONNECT" in s["name"] for s in found["contents"])


def test_taxonomies_and_terms(anyone):
    taxonomies = get(anyone, "/api/taxonomies")
    assert [t["name"] for t in taxonomies["contents"]] == ["Triangulate"]
    one = get(anyone, f"/api/taxonomies/{tx.TAXONOMY_ID}")
    assert {"id", "name", "description"} <= set(one)
    term = get(anyone, f"/api/taxonomy_terms/{tx.term('need', 'psychosis').id}")
    assert term["code"] == "need:psychosis" and term["taxonomy"] == "Triangulate"
    assert get(anyone, "/api/taxonomy_terms?per_page=200")["total_items"] >= len(tx.terms())


def test_bad_parameters_and_unknown_ids_are_named_not_failed(anyone):
    for query, name in (("page=0", "page"), ("page=x", "page"), ("per_page=1000", "per_page"),
                        ("minimum_age=old", "minimum_age")):
        body = get(anyone, f"/api/services?{query}", status=400)
        assert f"The {name} parameter" in body["error"]
    assert "No service" in get(anyone, "/api/services/not-an-id", status=404)["error"]
    assert get(anyone, "/api/taxonomy_terms/nothing", status=404)["status"] == 404
    assert anyone.post("/api/services").status_code == 405


def test_the_directory_is_published_with_its_hash_and_a_changed_file_is_refused(site, tmp_path):
    import shutil

    from triangulate.provision import load_services
    from triangulate.publish.publication import PublicationError, latest, publications_root, read_publication

    published = latest(publications_root(site["store"]))
    assert published.manifest["directory"]["services"] == len(load_services(site["store"]))
    copy = tmp_path / published.version
    shutil.copytree(published.folder, copy)
    path = copy / published.manifest["directory"]["file"]
    path.write_text(path.read_text(encoding="utf-8").replace("RECONNECT", "RECONNECTED"), encoding="utf-8")
    with pytest.raises(PublicationError, match="has changed since it was written"):
        read_publication(copy).directory
