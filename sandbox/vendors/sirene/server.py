"""INSEE API Sirene 3.11 sandbox.

Contract (INSEE API Sirene 3.11 docs): header `X-INSEE-Api-Key-Integration`;
`GET /siren/{siren}`, `GET /siret/{siret}`; multi-criteria `GET|POST /siren`
and `/siret` with `q=` (Lucene-like `field:value` terms joined by OR/AND),
`nombre` (at most 1000), `debut` offset or `curseur=*` deep paging (follow
`header.curseurSuivant` until it equals `curseur`); 30 requests/min per key,
429 above; 404 when nothing matches; non-diffusible units (`statutDiffusion…`
'P') come back with `[ND]` in place of the protected fields.
"""

from __future__ import annotations

import base64
import random
import re
from datetime import date, datetime

from sandbox.framework import Request, Response, VendorSandbox
from sandbox.world import WORLD_END, catalog
from sandbox.world.geography import lambert93

ND = "[ND]"
MAX_NOMBRE = 1000
_TERM = re.compile(r"(\w+):([\w*\-]+)")
SIREN_FIELDS = {"siren", "activitePrincipaleUniteLegale", "categorieJuridiqueUniteLegale"}
SIRET_FIELDS = {"siren", "siret", "codePostalEtablissement", "codeCommuneEtablissement"}


def _fault(code: int, message: str, description: str) -> dict:
    # INSEE's API gateway (WSO2) answers auth and quota failures with a 'fault' object
    return {"fault": {"code": code, "message": message, "description": description}}


class SireneSandbox(VendorSandbox):
    name = "sirene"
    rate_limit = (30, 60.0)

    def __init__(self, world, api_key, seed=0, files_dir=None):
        super().__init__(world, api_key, seed, files_dir)
        self.units = {o["siren"]: o for o in world.offerers}
        self.establishments = {v["siret"]: v for v in world.venues if v["siret"]}
        offerer_by_id = {o["id"]: o for o in world.offerers}
        self.establishment_unit = {
            v["siret"]: offerer_by_id[v["managingOffererId"]] for v in world.venues if v["siret"]
        }
        self.head_office = {}
        for v in world.venues:
            if v["siret"]:
                self.head_office.setdefault(v["managingOffererId"], v["siret"])

    def routes(self):
        return [
            ("GET", r"/siren/(?P<siren>[^/]+)", self.get_unit),
            ("GET", r"/siret/(?P<siret>[^/]+)", self.get_establishment),
            ("GET", r"/siren/?", self.search_units),
            ("POST", r"/siren/?", self.search_units),
            ("GET", r"/siret/?", self.search_establishments),
            ("POST", r"/siret/?", self.search_establishments),
            ("GET", r"/informations", self.informations),
        ]

    # --- contract shapes ---------------------------------------------------------------
    def authenticate(self, req: Request) -> Response | None:
        key = req.headers.get("x-insee-api-key-integration")
        if key != self.api_key:
            return Response.json(
                _fault(
                    900901,
                    "Invalid Credentials",
                    "Invalid Credentials. Make sure you have provided the correct security credentials",
                ),
                401,
            )
        return None

    def too_many_requests(self, retry_after: float) -> Response:
        return Response.json(
            _fault(900802, "Message throttled out", "You have exceeded your quota"),
            429,
            {"Retry-After": str(max(1, round(retry_after)))},
        )

    def server_error(self, status: int) -> Response:
        return Response.json({"header": {"statut": status, "message": "Erreur interne du serveur"}}, status)

    def _header_error(self, status: int, message: str) -> Response:
        return Response.json({"header": {"statut": status, "message": message}}, status)

    # --- handlers ------------------------------------------------------------------------
    def informations(self, req: Request) -> Response:
        return Response.json(
            {
                "etatService": "UP",
                "versionService": "3.11",
                "datesDernieresMisesAJourDesDonnees": [
                    {"collection": "Sirene", "dateDerniereMiseADisposition": WORLD_END.isoformat()}
                ],
            }
        )

    def get_unit(self, req: Request, siren: str) -> Response:
        if not re.fullmatch(r"\d{9}", siren):
            return self._header_error(400, f"Erreur de syntaxe dans le paramètre siren={siren}")
        if siren not in self.units:
            return self._header_error(404, f"Aucun élément trouvé pour le siren {siren}")
        return Response.json({"header": {"statut": 200, "message": "OK"}, "uniteLegale": self._unit(self.units[siren])})

    def get_establishment(self, req: Request, siret: str) -> Response:
        if not re.fullmatch(r"\d{14}", siret):
            return self._header_error(400, f"Erreur de syntaxe dans le paramètre siret={siret}")
        if siret not in self.establishments:
            return self._header_error(404, f"Aucun élément trouvé pour le siret {siret}")
        return Response.json({"header": {"statut": 200, "message": "OK"}, "etablissement": self._establishment(siret)})

    def search_units(self, req: Request) -> Response:
        return self._search(req, "unitesLegales", SIREN_FIELDS, self.units, lambda key: self._unit(self.units[key]))

    def search_establishments(self, req: Request) -> Response:
        return self._search(req, "etablissements", SIRET_FIELDS, self.establishments, self._establishment)

    def _search(self, req: Request, collection: str, fields: set[str], index: dict, render) -> Response:
        params = {k: v[0] for k, v in req.query.items()}
        if req.method == "POST":
            params.update({k: v[0] for k, v in req.form().items()})
        q = params.get("q", "")
        terms = _TERM.findall(q)
        if not terms or any(f not in fields for f, _ in terms):
            return self._header_error(400, f"Erreur de syntaxe dans le paramètre q={q}")
        try:
            nombre = int(params.get("nombre", 20))
            debut = int(params.get("debut", 0))
        except ValueError:
            return self._header_error(400, "Les paramètres nombre et debut doivent être des entiers")
        if nombre > MAX_NOMBRE:
            return self._header_error(400, f"Le paramètre nombre doit être inférieur ou égal à {MAX_NOMBRE}")
        curseur = params.get("curseur")
        if curseur and debut:
            return self._header_error(400, "Les paramètres curseur et debut ne peuvent être utilisés ensemble")
        use_and = " AND " in q
        keys = sorted(k for k in index if (all if use_and else any)(self._matches(k, f, v) for f, v in terms))
        if not keys:
            return self._header_error(404, f"Aucun élément trouvé pour q={q}")
        header = {"statut": 200, "message": "OK", "total": len(keys), "nombre": 0}
        if curseur:
            after = "" if curseur == "*" else base64.urlsafe_b64decode(curseur.encode()).decode()
            page = [k for k in keys if k > after][:nombre]
            # past the last unit the page is empty and the cursor stops moving: that is the end
            following = base64.urlsafe_b64encode(page[-1].encode()).decode() if page else curseur
            header.update({"debut": 0, "curseur": curseur, "curseurSuivant": following})
        else:
            page = keys[debut : debut + nombre]
            header["debut"] = debut
        header["nombre"] = len(page)
        return Response.json({"header": header, collection: [render(k) for k in page]})

    def _matches(self, key: str, field: str, value: str) -> bool:
        if field == "siren":
            return key[:9] == value
        if field == "siret":
            return key == value
        if field in ("codePostalEtablissement", "codeCommuneEtablissement"):
            commune = self.establishments[key]["_commune"]
            return (commune.postcode if field == "codePostalEtablissement" else commune.citycode) == value
        unit = self.units[key]
        return (unit["_naf"] if field == "activitePrincipaleUniteLegale" else unit["_legal_category"]) == value

    # --- payloads --------------------------------------------------------------------------
    def _current_period(self, o: dict) -> dict:
        nd = o["_non_diffusible"]
        person = o["_legal_category"] == "1000"
        rng = random.Random(o["siren"])
        return {
            "dateFin": None,
            "dateDebut": o["_unit_created"].isoformat(),
            "etatAdministratifUniteLegale": "C" if o["_ceased"] else "A",
            "changementEtatAdministratifUniteLegale": o["_ceased"],
            "nomUniteLegale": (ND if nd else rng.choice(catalog.LAST_NAMES).upper()) if person else None,
            "changementNomUniteLegale": False,
            "nomUsageUniteLegale": None,
            "changementNomUsageUniteLegale": False,
            "denominationUniteLegale": None if person else (ND if nd else o["name"].upper()),
            "changementDenominationUniteLegale": False,
            "denominationUsuelle1UniteLegale": None,
            "changementDenominationUsuelleUniteLegale": False,
            "categorieJuridiqueUniteLegale": o["_legal_category"],
            "changementCategorieJuridiqueUniteLegale": False,
            "activitePrincipaleUniteLegale": o["_naf"],
            "nomenclatureActivitePrincipaleUniteLegale": "NAFRev2",
            "changementActivitePrincipaleUniteLegale": False,
            "nicSiegeUniteLegale": self.head_office.get(o["id"], o["siren"] + "00017")[9:],
            "changementNicSiegeUniteLegale": False,
            "economieSocialeSolidaireUniteLegale": "O" if o["_legal_category"] == "9220" else "N",
            "changementEconomieSocialeSolidaireUniteLegale": False,
            "societeMissionUniteLegale": "N",
            "changementSocieteMissionUniteLegale": False,
            "caractereEmployeurUniteLegale": rng.choice(("O", "N")),
            "changementCaractereEmployeurUniteLegale": False,
        }

    def _unit(self, o: dict) -> dict:
        rng = random.Random(o["siren"])
        current = self._current_period(o)
        periods = [current]
        if o["_ceased"]:  # a ceased unit has an earlier active period
            first = {
                **current,
                "etatAdministratifUniteLegale": "A",
                "changementEtatAdministratifUniteLegale": False,
                "dateFin": date(2024, 6, 30).isoformat(),
            }
            periods = [{**current, "dateDebut": date(2024, 7, 1).isoformat()}, first]
        unit = {
            "siren": o["siren"],
            "statutDiffusionUniteLegale": "P" if o["_non_diffusible"] else "O",
            "unitePurgeeUniteLegale": None,
            "dateCreationUniteLegale": o["_unit_created"].isoformat(),
            "sigleUniteLegale": None,
            "sexeUniteLegale": None,
            "prenom1UniteLegale": (ND if o["_non_diffusible"] else rng.choice(catalog.FIRST_NAMES))
            if o["_legal_category"] == "1000"
            else None,
            "identifiantAssociationUniteLegale": f"W{rng.randint(10**8, 10**9 - 1)}"
            if o["_legal_category"] == "9220"
            else None,
            "trancheEffectifsUniteLegale": rng.choice(("NN", "00", "01", "02", "03", "11")),
            "anneeEffectifsUniteLegale": "2023",
            "dateDernierTraitementUniteLegale": datetime(
                2025, rng.randint(1, 12), rng.randint(1, 28), 3, 12, 45
            ).isoformat(),
            "nombrePeriodesUniteLegale": len(periods),
            "categorieEntreprise": rng.choice(("PME", "PME", "PME", "ETI")),
            "anneeCategorieEntreprise": "2022",
            "periodesUniteLegale": periods,
        }
        if self.faults.schema_drift:
            unit["activitePrincipaleNAF25UniteLegale"] = o["_naf"].replace(".", "")
        return unit

    def _establishment(self, siret: str) -> dict:
        v = self.establishments[siret]
        o = self.establishment_unit[siret]
        c = v["_commune"]
        nd = o["_non_diffusible"]
        rng = random.Random(siret)
        x, y = lambert93(v["latitude"], v["longitude"])
        current = self._current_period(o)
        unit_fields = {
            k: v2 for k, v2 in current.items() if not k.startswith("changement") and k not in ("dateDebut", "dateFin")
        }
        return {
            "siren": siret[:9],
            "nic": siret[9:],
            "siret": siret,
            "statutDiffusionEtablissement": "P" if nd else "O",
            "dateCreationEtablissement": v["dateCreated"].date().isoformat(),
            "trancheEffectifsEtablissement": rng.choice(("NN", "00", "01", "02")),
            "anneeEffectifsEtablissement": "2023",
            "activitePrincipaleRegistreMetiersEtablissement": None,
            "dateDernierTraitementEtablissement": datetime(
                2025, rng.randint(1, 12), rng.randint(1, 28), 4, 2, 11
            ).isoformat(),
            "etablissementSiege": self.head_office.get(o["id"]) == siret,
            "nombrePeriodesEtablissement": 1,
            "uniteLegale": {
                "statutDiffusionUniteLegale": "P" if nd else "O",
                "dateCreationUniteLegale": o["_unit_created"].isoformat(),
                **unit_fields,
            },
            "adresseEtablissement": {
                "complementAdresseEtablissement": None,
                "numeroVoieEtablissement": ND if nd else str(rng.randint(1, 150)),
                "indiceRepetitionEtablissement": None,
                "typeVoieEtablissement": ND if nd else rng.choice(("RUE", "AV", "BD", "PL")),
                "libelleVoieEtablissement": ND if nd else rng.choice(catalog.STREET_NAMES).upper(),
                "codePostalEtablissement": c.postcode,
                "libelleCommuneEtablissement": c.city.upper(),
                "libelleCommuneEtrangerEtablissement": None,
                "distributionSpecialeEtablissement": None,
                "codeCommuneEtablissement": c.citycode,
                "codeCedexEtablissement": None,
                "libelleCedexEtablissement": None,
                "codePaysEtrangerEtablissement": None,
                "libellePaysEtrangerEtablissement": None,
                "identifiantAdresseEtablissement": None
                if nd
                else f"{c.citycode}_{rng.randint(1000, 9999)}_{rng.randint(1, 150):05d}",
                "coordonneeLambertAbscisseEtablissement": ND if nd else str(x),
                "coordonneeLambertOrdonneeEtablissement": ND if nd else str(y),
            },
            "periodesEtablissement": [
                {
                    "dateFin": None,
                    "dateDebut": v["dateCreated"].date().isoformat(),
                    "etatAdministratifEtablissement": "F" if o["_ceased"] else "A",
                    "changementEtatAdministratifEtablissement": False,
                    "enseigne1Etablissement": None if nd else v["name"].upper(),
                    "denominationUsuelleEtablissement": None,
                    "activitePrincipaleEtablissement": catalog.NAF_BY_VENUE_TYPE[v["venueTypeCode"]],
                    "nomenclatureActivitePrincipaleEtablissement": "NAFRev2",
                    "caractereEmployeurEtablissement": "N",
                }
            ],
        }
