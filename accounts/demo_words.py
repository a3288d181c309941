"""Word lists and text templates for the demo data (`manage.py seed_demo`). Data only, no logic.

Company names are ROOT + SECTOR NOUN (+ SUFFIX); the sector noun decides the industry, so a
"Harbor Freight Systems" is in logistics and a "Cedar Health" in healthcare."""

ROOTS = (
    "Acorn", "Alder", "Alpine", "Amber", "Anchor", "Apex", "Arbor", "Archway", "Argent", "Arrow", "Ashford", "Aspen",
    "Aster", "Atlas", "Aurora", "Avalon", "Azure", "Banyan", "Basalt", "Bayside", "Beacon", "Bellwether", "Birch",
    "Blackstone", "Bluebird", "Blue Ridge", "Boulder", "Bramble", "Brightwater", "Brook", "Cadence", "Caldera",
    "Canyon", "Capstone", "Cardinal", "Carver", "Cascade", "Cedar", "Centennial", "Chestnut", "Cinder", "Citadel",
    "Clearwater", "Clover", "Coastal", "Cobalt", "Compass", "Copper", "Coral", "Cornerstone", "Cove", "Crescent",
    "Crest", "Crimson", "Crown", "Cypress", "Dawn", "Delta", "Driftwood", "Dunmore", "Eastwood", "Echo", "Elm",
    "Ember", "Emerald", "Everest", "Evergreen", "Fairview", "Falcon", "Fern", "Fieldstone", "Firefly", "Flint",
    "Forge", "Foxglove", "Frontier", "Galena", "Garnet", "Glacier", "Golden Gate", "Granite", "Greenfield",
    "Greystone", "Halcyon", "Harbor", "Harvest", "Hawthorne", "Heron", "Highland", "Hillcrest", "Horizon", "Hudson",
    "Indigo", "Iron", "Ironwood", "Ivy", "Jade", "Juniper", "Kestrel", "Keystone", "Kingfisher", "Lakeshore",
    "Lantern", "Larkspur", "Laurel", "Ledger", "Liberty", "Lighthouse", "Linden", "Lodestar", "Lumen", "Magnolia",
    "Maple", "Marble", "Mariner", "Meadow", "Meridian", "Mesa", "Midland", "Millbrook", "Monarch", "Mosaic",
    "Navigator", "Nimbus", "Northgate", "Northstar", "Oakridge", "Obsidian", "Ocean", "Onyx", "Orchard", "Orion",
    "Osprey", "Pacific", "Palisade", "Paragon", "Pathfinder", "Peregrine", "Pine", "Pinnacle", "Pioneer", "Polaris",
    "Prairie", "Prism", "Quarry", "Quartz", "Radiant", "Rainier", "Raven", "Redwood", "Ridgeline", "Riverbend",
    "Rockwell", "Rosewood", "Sable", "Saffron", "Sage", "Sandstone", "Sapphire", "Sequoia", "Shoreline", "Sierra",
    "Silverline", "Skyline", "Slate", "Solstice", "Sparrow", "Spruce", "Starling", "Sterling", "Stonebridge",
    "Summit", "Sundial", "Sunrise", "Tamarack", "Terra", "Thistle", "Tidewater", "Timber", "Topaz", "Trailhead",
    "Trident", "Trillium", "Tundra", "Union", "Valley", "Vanguard", "Vantage", "Velvet", "Verde", "Vertex", "Vista",
    "Walnut", "Waypoint", "Westbrook", "Whitfield", "Willow", "Windward", "Wren", "Yarrow", "Zenith", "Zephyr",
)

# industry → the sector nouns that make a company name read as that industry
SECTORS = {
    "Software & Internet": ("Software", "Cloud", "Data", "Digital", "Networks", "Apps", "AI", "Cyber"),
    "Financial Services": ("Capital", "Financial", "Payments", "Bank", "Insurance", "Lending", "Wealth", "Credit"),
    "Healthcare": ("Health", "Medical", "Clinics", "Pharma", "Biotech", "Care", "Diagnostics"),
    "Retail & E-commerce": ("Retail", "Outfitters", "Goods", "Market", "Brands", "Commerce", "Apparel"),
    "Manufacturing": ("Manufacturing", "Industries", "Materials", "Machinery", "Components", "Fabrication", "Tools"),
    "Transportation & Logistics": ("Logistics", "Freight", "Shipping", "Transport", "Supply", "Fleet"),
    "Media & Entertainment": ("Media", "Studios", "Entertainment", "Publishing", "Games"),
    "Education": ("Learning", "Education", "Academy", "Tutoring"),
    "Energy & Utilities": ("Energy", "Power", "Solar", "Utilities", "Renewables"),
    "Professional Services": ("Consulting", "Advisory", "Legal", "Staffing", "Accounting"),
    "Hospitality & Travel": ("Hospitality", "Travel", "Hotels", "Resorts"),
    "Real Estate & Construction": ("Properties", "Realty", "Builders", "Construction", "Homes"),
    "Telecommunications": ("Telecom", "Wireless", "Communications", "Fiber"),
}
SECTOR_NOUNS = tuple(noun for nouns in SECTORS.values() for noun in nouns)
SECTOR_INDUSTRY = tuple(industry for industry, nouns in SECTORS.items() for _ in nouns)
INDUSTRIES = tuple(SECTORS)

# (suffix, weight): most companies are known by their plain name
US_SUFFIXES = (
    ("", 10), ("Inc.", 3), ("Group", 2), ("Labs", 1), ("Co.", 1), ("Holdings", 1), ("Systems", 1),
    ("Technologies", 1), ("Solutions", 1), ("Partners", 1), ("International", 1), ("LLC", 1),
)
EU_SUFFIXES = (
    ("", 8), ("GmbH", 5), ("AG", 2), ("SE", 1), ("B.V.", 1), ("Ltd", 2), ("S.A.", 1), ("Group", 1), ("AB", 1),
    ("Oy", 1), ("KG", 1),
)

REGIONS = ("NA", "EMEA", "APAC", "LATAM")
REGION_TLDS = {
    "NA": ("com", "com", "com", "io", "co"),
    "EMEA": ("com", "co.uk", "de", "fr", "nl", "io", "eu"),
    "APAC": ("com", "com.au", "sg", "co.jp", "io"),
    "LATAM": ("com", "com.br", "mx", "cl", "com.ar"),
}
# fictional-range phone formats by region (555-01xx, Ofcom drama numbers, …)
REGION_PHONES = {
    "NA": "+1 ({area}) 555-01{n2:02d}",
    "EMEA": "+44 20 7946 0{n3:03d}",
    "APAC": "+61 2 5550 {n4:04d}",
    "LATAM": "+55 11 5555-{n4:04d}",
}
NA_AREA_CODES = ("212", "312", "415", "512", "617", "646", "720", "206", "404", "303", "214", "858")

FIRST_NAMES = (
    "Aaron", "Abigail", "Adrian", "Aisha", "Alejandro", "Alexis", "Amara", "Amelia", "Ana", "Andre", "Andrea",
    "Anika", "Arjun", "Ava", "Beatriz", "Benjamin", "Bianca", "Brandon", "Caleb", "Camila", "Carlos", "Caroline",
    "Chloe", "Christopher", "Claire", "Daniel", "Daniela", "David", "Diego", "Elena", "Elijah", "Elise", "Emily",
    "Emma", "Erik", "Ethan", "Fatima", "Felix", "Fernando", "Gabriel", "Grace", "Hannah", "Harper", "Hassan", "Ines",
    "Isaac", "Isabel", "Ivan", "Jack", "James", "Javier", "Jessica", "Jin", "Johanna", "Jonathan", "Julia", "Julian",
    "Kai", "Karen", "Kenji", "Kevin", "Laura", "Leah", "Leo", "Lucas", "Lucia", "Madison", "Maria", "Mariana",
    "Mark", "Mateo", "Matthew", "Maya", "Mei", "Michael", "Michelle", "Mohammed", "Nadia", "Natalie", "Nathan",
    "Nicole", "Nina", "Olivia", "Omar", "Oscar", "Paul", "Pedro", "Rachel", "Rafael", "Rahul", "Rebecca", "Ricardo",
    "Robert", "Rosa", "Ryan", "Samantha", "Samuel", "Sara", "Sean", "Sebastian", "Simone", "Sophia", "Stephanie",
    "Steven", "Tariq", "Thomas", "Tomas", "Valentina", "Victoria", "Wei", "William", "Yara", "Yuki", "Zara", "Zoe",
)
LAST_NAMES = (
    "Abbott", "Adeyemi", "Alvarez", "Andersen", "Bailey", "Banerjee", "Becker", "Bennett", "Bianchi", "Brooks",
    "Campbell", "Carter", "Castillo", "Chang", "Chen", "Collins", "Cooper", "Costa", "Cruz", "Dalton", "Davies",
    "Delgado", "Dubois", "Edwards", "Eriksson", "Evans", "Farouk", "Fernandez", "Fischer", "Foster", "Garcia",
    "Gomez", "Gonzalez", "Grant", "Gupta", "Hansen", "Harris", "Hayes", "Hernandez", "Hoffmann", "Howard", "Hughes",
    "Ibrahim", "Iyer", "Jansen", "Jensen", "Johnson", "Kapoor", "Kelly", "Kim", "Kowalski", "Kumar", "Larsen", "Lee",
    "Lewis", "Lindqvist", "Lopez", "Martin", "Martinez", "Mehta", "Meyer", "Miller", "Mitchell", "Moreau", "Morgan",
    "Murphy", "Nakamura", "Nguyen", "Nielsen", "Novak", "Okafor", "Olsen", "Ortiz", "Park", "Patel", "Perez",
    "Peterson", "Phillips", "Quinn", "Ramirez", "Reddy", "Reyes", "Richter", "Rivera", "Roberts", "Rodriguez",
    "Rossi", "Russo", "Santos", "Sato", "Schmidt", "Schneider", "Shah", "Silva", "Singh", "Sullivan", "Suzuki",
    "Tanaka", "Taylor", "Thompson", "Torres", "Turner", "Vargas", "Vasquez", "Wagner", "Walker", "Wang", "Weber",
    "Williams", "Wong", "Wright", "Yamamoto", "Young", "Zhang", "Zimmerman",
)

CONTACT_TITLES = {
    "champion": (
        "Director of Operations", "Head of Revenue Operations", "Analytics Manager",
        "Director of Business Intelligence", "Head of Data", "Operations Manager", "Director of Marketing Operations",
        "Head of Customer Operations",
    ),
    "decision_maker": (
        "VP of Operations", "VP of Finance", "Chief Financial Officer", "VP of Sales", "VP of Engineering",
        "Director of IT", "VP of Marketing", "Head of Procurement",
    ),
    "executive_sponsor": (
        "Chief Executive Officer", "Chief Operating Officer", "Chief Technology Officer", "Chief Revenue Officer",
        "Chief Data Officer", "Chief Information Officer", "SVP Strategy",
    ),
    "user": (
        "Data Analyst", "Sales Operations Analyst", "Marketing Manager", "Financial Analyst", "Account Executive",
        "Business Analyst", "Operations Coordinator", "Product Manager", "Support Team Lead",
    ),
}

# contact roles by position on the account: the first contact is the primary one
CONTACT_ROLE_ORDER = ("champion", "decision_maker", "executive_sponsor", "user", "user")

TOUCHPOINT_KINDS = ("call", "meeting", "email", "qbr", "note")
# kind probabilities per tier (enterprise, mid_market, smb, tech_touch)
TOUCHPOINT_KIND_WEIGHTS = (
    (0.30, 0.22, 0.28, 0.08, 0.12),
    (0.32, 0.15, 0.35, 0.06, 0.12),
    (0.30, 0.05, 0.50, 0.02, 0.13),
    (0.10, 0.00, 0.75, 0.00, 0.15),
)
TOUCHPOINT_TEMPLATES = {
    "call": (
        "Weekly check-in with {first}: {feature} rollout on track, next steps agreed.",
        "Call with {first} about {feature}; they want to extend it to {n} more users.",
        "Troubleshooting call with {first}: {feature} issue resolved, monitoring for a week.",
        "Renewal prep call with {first}: walked through usage trends and pricing options.",
        "Intro call with {first} after the org change; reviewed goals for next quarter.",
        "Call with {first} on slow adoption of {feature}; offered a training session.",
        "Check-in with {first}: team is happy, asked about the {feature} roadmap.",
    ),
    "meeting": (
        "Workshop with {first}'s team on {feature} best practices ({n} attendees).",
        "Executive alignment meeting: reviewed the success plan and {feature} adoption targets.",
        "Roadmap session with {first}: previewed upcoming {feature} improvements, collected feedback.",
        "Onboarding working session with {first}: configured {feature} and imported first data.",
        "Value review with {first}: mapped {feature} usage to their quarterly objectives.",
    ),
    "email": (
        "Sent {first} the {feature} setup guide and the recording of last session.",
        "Followed up with {first} on the open support ticket about {feature}.",
        "Shared usage report: {n}% of licensed seats active in the last 30 days.",
        "Sent the renewal quote and a summary of value delivered this year.",
        "Invited {first} to the {feature} webinar next week.",
        "Answered {first}'s question about {feature} permissions and SSO.",
        "Monthly newsletter with {feature} tips sent to the account's users.",
    ),
    "qbr": (
        "Quarterly business review with {first}: {n}% seat utilisation, next-quarter goals agreed.",
        "QBR: reviewed ROI and {feature} adoption; success plan refreshed with the exec sponsor.",
        "QBR with {first}: discussed expansion to {n} more seats and the renewal timeline.",
    ),
    "note": (
        "{first} mentioned a budget review next quarter; watch the renewal.",
        "Customer is evaluating a competitor for {feature}; schedule a value review.",
        "{first} very happy with support response times.",
        "Product feedback logged: request for finer-grained {feature} permissions.",
        "New VP joined the customer's team; need to re-establish exec sponsorship.",
        "Usage dipped after their reorg; {first} expects it to recover within a month.",
    ),
}

# (type, reason, title, priority) of active tasks raised by rules or CSMs; "{x}" filled per account
RISK_TASKS = (
    ("risk", "risk:usage_drop", "Usage down {n}% in 30 days — find out why", 3),
    ("risk", "risk:support_escalation", "P1 support escalation open — align with support", 4),
    ("risk", "risk:champion_left", "Champion left the company — find a new champion", 3),
    ("risk", "risk:low_nps", "Detractor NPS response from {first} — close the loop", 3),
    ("risk", "risk:payment_overdue", "Invoice 45 days overdue — check with finance contact", 2),
)
ADOPTION_TASKS = (
    ("adoption", "adoption:{feature_slug}", "Drive adoption of {feature}", 2),
    ("adoption", "adoption:seat_utilisation", "Seat utilisation under 50% — run enablement session", 2),
)
EXPANSION_TASKS = (
    ("expansion", "expansion:seat_limit", "Seats at {n}% of plan — discuss expansion", 2),
    ("expansion", "expansion:new_team", "New team interested in {feature} — intro to sales", 2),
)
MANUAL_TASKS = (
    ("activity", "", "Send QBR deck to {first}", 2),
    ("activity", "", "Follow up on {feature} pricing question", 1),
    ("activity", "", "Schedule training for new users", 1),
    ("activity", "", "Share {feature} case study with {first}", 1),
    ("activity", "", "Prepare success plan update", 2),
)
DONE_TASK_TITLES = (
    ("activity", "Send recap of the last call to {first}"),
    ("activity", "Schedule quarterly business review"),
    ("onboarding", "Run onboarding kickoff"),
    ("adoption", "Enablement session on {feature}"),
    ("risk", "Check in after support escalation"),
    ("renewal", "Confirm renewal decision maker"),
    ("expansion", "Intro {first} to the account executive"),
    ("activity", "Update contact roles after reorg"),
)

REASSIGNMENT_REASONS = (
    "Territory rebalance", "Book rebalancing after new hire", "Segment change after expansion",
    "CSM parental leave coverage", "Customer requested a new CSM",
)
