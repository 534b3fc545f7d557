"""The cultural catalogue the world draws from: venue types, subcategories, names.

Subcategory ids and categories follow the pass Culture backend
(`pcapi.core.categories.subcategories`). Prices are in euros.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Subcategory:
    id: str
    category_id: str
    is_event: bool
    is_digital: bool
    price_low: float
    price_high: float
    typical_price: float  # what a normal offer costs: a learnable anchor for compliance


SUBCATEGORIES: tuple[Subcategory, ...] = (
    Subcategory("LIVRE_PAPIER", "LIVRE", False, False, 5, 35, 15),
    Subcategory("LIVRE_NUMERIQUE", "LIVRE", False, True, 3, 20, 9),
    Subcategory("SUPPORT_PHYSIQUE_MUSIQUE_CD", "MUSIQUE_ENREGISTREE", False, False, 8, 25, 15),
    Subcategory("SUPPORT_PHYSIQUE_MUSIQUE_VINYLE", "MUSIQUE_ENREGISTREE", False, False, 15, 40, 25),
    Subcategory("SEANCE_CINE", "CINEMA", True, False, 5, 12, 8),
    Subcategory("CARTE_CINE_MULTISEANCES", "CINEMA", False, False, 20, 60, 40),
    Subcategory("CONCERT", "MUSIQUE_LIVE", True, False, 10, 60, 25),
    Subcategory("FESTIVAL_MUSIQUE", "MUSIQUE_LIVE", True, False, 25, 120, 60),
    Subcategory("SPECTACLE_REPRESENTATION", "SPECTACLE", True, False, 8, 50, 20),
    Subcategory("ATELIER_PRATIQUE_ART", "PRATIQUE_ART", True, False, 0, 40, 15),
    Subcategory("SEANCE_ESSAI_PRATIQUE_ART", "PRATIQUE_ART", True, False, 0, 15, 5),
    Subcategory("VISITE", "MUSEE", True, False, 0, 20, 8),
    Subcategory("VISITE_GUIDEE", "MUSEE", True, False, 0, 25, 10),
    Subcategory("ABO_PLATEFORME_VIDEO", "FILM", False, True, 5, 15, 9),
    Subcategory("INSTRUMENT", "INSTRUMENT", False, False, 30, 300, 120),
    Subcategory("JEU_SUPPORT_PHYSIQUE", "JEU", False, False, 10, 60, 30),
    Subcategory("MATERIEL_ART_CREATIF", "BEAUX_ARTS", False, False, 5, 80, 25),
)
SUBCATEGORY_BY_ID = {s.id: s for s in SUBCATEGORIES}

# venue type -> (subcategories it sells, name prefixes)
VENUE_TYPES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "BOOKSTORE": (("LIVRE_PAPIER", "LIVRE_NUMERIQUE"), ("Librairie", "Librairie-Papeterie", "Bouquinerie")),
    "MOVIE": (("SEANCE_CINE", "CARTE_CINE_MULTISEANCES"), ("Cinéma", "Ciné", "Le Cinéma")),
    "PERFORMING_ARTS": (
        ("SPECTACLE_REPRESENTATION", "ATELIER_PRATIQUE_ART"),
        ("Théâtre", "Scène nationale", "Compagnie"),
    ),
    "CONCERT_HALL": (("CONCERT", "FESTIVAL_MUSIQUE"), ("Salle", "La Scène", "Le Club")),
    "MUSEUM": (("VISITE", "VISITE_GUIDEE"), ("Musée", "Maison", "Galerie")),
    "RECORD_STORE": (("SUPPORT_PHYSIQUE_MUSIQUE_CD", "SUPPORT_PHYSIQUE_MUSIQUE_VINYLE"), ("Disquaire", "Disques")),
    "MUSICAL_INSTRUMENT_STORE": (("INSTRUMENT",), ("Musique", "Atelier musical")),
    "ARTISTIC_COURSE": (("ATELIER_PRATIQUE_ART", "SEANCE_ESSAI_PRATIQUE_ART"), ("Atelier", "École", "Conservatoire")),
    "GAMES": (("JEU_SUPPORT_PHYSIQUE",), ("Ludothèque", "Jeux")),
    "CREATIVE_ARTS_STORE": (("MATERIEL_ART_CREATIF",), ("Beaux-Arts", "Le Géant des Beaux-Arts")),
    "DIGITAL": (("ABO_PLATEFORME_VIDEO", "LIVRE_NUMERIQUE"), ("Plateforme", "Stream")),
}
VENUE_TYPE_WEIGHTS = {
    "BOOKSTORE": 24,
    "MOVIE": 14,
    "PERFORMING_ARTS": 12,
    "CONCERT_HALL": 9,
    "MUSEUM": 10,
    "RECORD_STORE": 5,
    "MUSICAL_INSTRUMENT_STORE": 4,
    "ARTISTIC_COURSE": 10,
    "GAMES": 4,
    "CREATIVE_ARTS_STORE": 4,
    "DIGITAL": 4,
}

# INSEE legal categories and NAF codes used by the Sirene sandbox
LEGAL_CATEGORIES = {
    "5710": "SAS",
    "5499": "SARL",
    "9220": "Association déclarée",
    "7210": "Commune",
    "1000": "Entrepreneur individuel",
}
NAF_BY_VENUE_TYPE = {
    "BOOKSTORE": "47.61Z",
    "MOVIE": "59.14Z",
    "PERFORMING_ARTS": "90.01Z",
    "CONCERT_HALL": "90.04Z",
    "MUSEUM": "91.02Z",
    "RECORD_STORE": "47.63Z",
    "MUSICAL_INSTRUMENT_STORE": "47.59B",
    "ARTISTIC_COURSE": "85.52Z",
    "GAMES": "47.65Z",
    "CREATIVE_ARTS_STORE": "47.78C",
    "DIGITAL": "59.13B",
}

BOOK_RAYONS = {
    "Romans et récits": "Littérature",
    "Bandes dessinées": "BD",
    "Mangas": "BD",
    "Jeunesse": "Jeunesse",
    "Sciences humaines": "Essais",
    "Scolaire": "Scolaire",
}
MUSIC_TYPES = {
    "Pop": ("Pop", "Indie Pop"),
    "Rap/Hip Hop": ("Rap", "Trap"),
    "Jazz": ("Jazz", "Swing"),
    "Classique": ("Classique", "Opéra"),
    "Electro": ("House", "Techno"),
    "Rock": ("Rock", "Punk"),
}
SHOW_TYPES = {
    "Théâtre": ("Comédie", "Drame"),
    "Danse": ("Contemporaine", "Hip-hop"),
    "Humour": ("One-man show", "Stand-up"),
    "Cirque": ("Cirque contemporain", "Clown"),
}

TITLE_WORDS = (
    "Lumière",
    "Nuit",
    "Océan",
    "Ville",
    "Rêve",
    "Voyage",
    "Mémoire",
    "Silence",
    "Été",
    "Horizon",
    "Forêt",
    "Étoile",
    "Printemps",
    "Ombre",
    "Miroir",
    "Écho",
    "Rivière",
    "Jardin",
    "Tempête",
    "Saison",
)
DESCRIPTION_SENTENCES = (
    "Une découverte accessible à tous les publics.",
    "Rencontre avec l'artiste à l'issue de la représentation.",
    "Un classique revisité par une nouvelle génération.",
    "Idéal pour découvrir une pratique artistique en petit groupe.",
    "Édition de poche, disponible en magasin.",
    "Tarif spécial jeunes sur présentation du pass Culture.",
    "Places limitées, pensez à réserver.",
    "Une œuvre saluée par la critique.",
)
# Phrases that the compliance team rejects: the learnable signal of the review outcome.
SUSPICIOUS_PHRASES = (
    "contactez-moi sur whatsapp",
    "paiement en espèces accepté",
    "revente possible",
    "remboursement garanti en argent",
    "lien de téléchargement gratuit",
    "copie non officielle",
)

FIRST_NAMES = (
    "Léa",
    "Hugo",
    "Chloé",
    "Lucas",
    "Manon",
    "Nathan",
    "Emma",
    "Louis",
    "Inès",
    "Gabriel",
    "Jade",
    "Arthur",
    "Camille",
    "Raphaël",
    "Sarah",
    "Adam",
    "Lina",
    "Noah",
    "Zoé",
    "Mohamed",
    "Anaïs",
    "Théo",
    "Yasmine",
    "Enzo",
    "Maëlys",
    "Tom",
    "Lou",
    "Rayan",
    "Clara",
    "Jules",
)
LAST_NAMES = (
    "Martin",
    "Bernard",
    "Dubois",
    "Thomas",
    "Robert",
    "Richard",
    "Petit",
    "Durand",
    "Leroy",
    "Moreau",
    "Simon",
    "Laurent",
    "Lefebvre",
    "Michel",
    "Garcia",
    "David",
    "Bertrand",
    "Roux",
    "Vincent",
    "Fournier",
    "Morel",
    "Girard",
    "Andre",
    "Mercier",
    "Dupont",
    "Lambert",
    "Bonnet",
    "Francois",
    "Martinez",
    "Nguyen",
)
STREET_TYPES = ("Rue", "Avenue", "Boulevard", "Place", "Allée", "Impasse", "Chemin")
STREET_NAMES = (
    "de la République",
    "Victor Hugo",
    "Jean Jaurès",
    "du Général de Gaulle",
    "Pasteur",
    "de la Gare",
    "des Écoles",
    "de la Mairie",
    "Gambetta",
    "du Moulin",
    "des Lilas",
    "Jules Ferry",
    "de l'Église",
    "Voltaire",
    "du Stade",
    "de la Liberté",
    "Émile Zola",
    "des Tilleuls",
    "du Château",
    "Saint-Exupéry",
)
ACTIVITIES = ("Lycéen", "Étudiant", "Apprenti", "Employé", "Chômeur, En recherche d'emploi", "Volontaire", "Inactif")
# Addresses a geocoder cannot place: typed by hand in the app, they exist in production.
GARBAGE_ADDRESSES = ("chez mes parents", "xxx", "N/A", "pas d'adresse", "...", "voir avec ma mère")
