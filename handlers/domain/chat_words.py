"""The word tables chat lines are read with (handlers.domain.chat has the reading itself).

Kept apart because they are data, long and often edited: outcome phrases per kind, negations and
softeners, rep shorthand, the cues around company names, legal forms, everyday words.
"""

from __future__ import annotations

from handlers.domain.model import Kind

# --------------------------------------------------------------------------------------------
# Outcome phrases.
#
# Mini-syntax (compiled once by `_compile`): words separated by spaces; "a|b" are alternatives
# for one word; a trailing "?" makes a word optional; "<co>" is the company named in the line;
# "<end>" is the end of a clause; "^" the start of the line; "*" up to four words of the clause;
# "<date>" a word that starts a date ("dec", "friday", "12/3"). Phrases are matched against the
# line folded (lowercase, no accents), without apostrophes ("didn't" reads as "didnt"), with
# hyphens as spaces and ABBREVIATIONS expanded ("vm" reads as "voicemail").
# --------------------------------------------------------------------------------------------
PHRASES: dict[Kind, tuple[str, ...]] = {
    Kind.MAYBE: (  # an answer, but no decision: the polite brush-offs of playbook section 4
        "said|says|say maybe", "maybe again", "maybe later", "maybe next week|month|quarter|year",
        "maybe in|after", "maybe",
        "not now", "not right now", "not at the moment", "not at this time", "not this year|quarter|month",
        "not ready", "not a priority", "not the right time", "bad timing", "timing isnt right", "on hold",
        "send|email|mail me|us? some|more? info|information|details|materials|brochure|deck|pricing",
        "asked for some|more? info|information|details", "wants some|more? info|information|details",
        "try me|us again? after|in|next|later|around|from", "try again? after",
        "circle back", "check back", "reach out again? after|in|next", "reconnect after|in|next",
        "touch base after|in|next", "call|ping me|us after|in|next|back",
        "next quarter", "next year", "next fiscal", "later this year", "in q1|q2|q3|q4|h1|h2",
        "after the? new year|holidays", "first of the year", "in the new year",
        "talk|talking it over", "talk|talking|check|checking to|with the|my|their|his|her team|boss|manager|cfo|ceo",
        "run it by", "think about it", "think it over", "thinking about it", "mull it over", "sleep on it",
        "get|getting back to me|us|you", "let me|us know",
        "already have|has|use|using a|an? partner|vendor|supplier|provider|solution|agency",
        "already work|working with a|an? partner|vendor|supplier|provider|solution|agency",
        "happy|satisfied|fine with our|their|the current|existing? supplier|vendor|provider|partner|solution|setup|agency",
        "keep|keeping|keeps your|our info|information|details|card|number|deck on file", "on file",
        "pushed it? to|back", "revisit", "budget frozen|freeze", "no budget until|till|before|this",
        # a request for information, a proposal or time: they have not decided
        "asked|asks|asking|wants|want|wanted|needs|need|needed|requested|requesting|send|email|mail|get|see * "
        + "|".join(("proposal", "proposals", "quote", "quotes", "deck", "pricing", "prices", "price", "info",
                    "information", "details", "materials", "brochure", "case-studies", "case-study", "references",
                    "reference", "trial", "pilot", "one-pager", "onepager", "roi", "security", "questionnaire",
                    "msa", "docs", "documentation", "specs", "sow", "discount", "redlined", "writing", "w-9")),
        "more info|information|details", "send more", "sounds interesting",
        "time|weeks|days|while to think", "to think <end>", "wants|want|needs|need to think",
        "give us|them|me a few|couple|some? days|weeks|time",
        "ping|call|email|contact|try|reach-out me|us|them|him|her|back|again * after|in|next|on|around|then",
        "follow-up|check-in|circle-back|reconnect|reach-out|check-back * after|in|next|on|around|then",
        "follow up <date>", "check back", "check in after|in|next|on",
        "evaluating", "comparing|compare", "considering", "still deciding", "deciding", "reviewing|review it",
        "wait for|until|till", "leaning yes|towards", "loop in", "needs|need|waiting-on|waiting-for|pending approval|sign-off|signoff",
        "sign off from", "approval from", "before deciding|they decide", "decide after", "budget opens|opens up",
        "in the spring|summer|fall|autumn|winter", "next quarter",
    ),
    Kind.TOUCH: (  # an attempt that got no answer
        "voicemail", "voicemails", "left a|another? message|msg", "left word",
        "no answer", "no reply", "no response", "no pickup", "no callback", "no call back", "no word",
        "radio silence", "crickets",
        "didnt pick up", "didnt answer|reply|respond", "didnt call|get back",
        "not picking up", "not answering|responding|replying",
        "noone|nobody answered|replied", "noone|nobody picked up",
        "havent|hasnt|hadnt|not|never replied|responded|answered|heard", "havent|hasnt|hadnt|never called|got|gotten|heard back",
        "emailed", "sent a|an|another? follow up", "sent a|an|another? email|note|message|text|reminder|inmail",
        "followed up", "follow up sent|email",
        "called", "rang", "dialed", "pinged", "chased", "texted", "messaged", "reached out",
        "tried calling|emailing|again", "tried to reach|call", "ghosted", "ghosting", "still waiting", "waiting to hear",
        "in a meeting", "out of office", "ooo",  # tried, but did not reach them
        "sent <co> a|an|another? follow-up|email|note|reminder|nudge|message", "nudge", "nudged", "bumped",
        "zero response|reply|replies", "still nothing", "nothing back", "heard nothing", "nothing yet",
        "gone|went|is|been|still dark|quiet|silent", "dark for", "silent for|since", "silent <end>", "silence",
        "unresponsive", "left on read", "not returning", "hasnt|hasn't|havent opened", "no luck reaching|getting",
        "2nd|3rd|4th|5th|second|third|fourth|fifth|another follow-up|email|call|attempt|try|ping|message",
        "straight to voicemail", "goes|going|went to voicemail", "dials", "left <co> a|another? message|voicemail",
        "👻", "☎️ no answer",
    ),
    Kind.MEETING: (  # a conversation; a next one when a date comes with it
        "met", "meeting", "meetings", "next meeting", "next call", "demo", "demos", "demoed", "walkthrough",
        "meeting|demo on|set|booked|scheduled|confirmed|tomorrow|tmrw|at|for",
        "call on|booked|scheduled|set|confirmed|with|at|for",
        "call|zoom tomorrow|tmrw|next|this|monday|tuesday|wednesday|thursday|friday|mon|tue|tues|wed|thu|thur|thurs|fri",
        "booked|scheduled|confirmed|got|set a|the|another|next? call|demo|walkthrough|session|zoom",
        "set up a|the|another|next? call|demo|walkthrough|session|zoom|meeting",
        "lunch with", "coffee with", "sat down with", "zoom with",
        "calendar invite", "invite sent|out|accepted", "accepted the|our|my? invite", "on the calendar|books",
        "agreed to meet|a meeting|a call", "wants|want to meet", "meet <date>", "meet in person", "onsite", "on site",
        "booked time|a slot|a time", "booked", "scheduled", "rescheduled", "moved to", "locked in a|the? meeting|call|demo|time", "locked in", "qbr",
        "workshop", "deep dive", "discovery call", "review scheduled|booked|set",
        "yes to a meeting|call|demo", "call set|booked", "grabbed coffee|lunch",
    ),
    Kind.WON: (  # the prospect said yes
        "signed", "contract signed", "inked", "closed won", "closed <co>|it|them", "closed the|a deal|contract",
        "won", "theyre in <end>", "<co> is|are in <end>", "said|says yes", "verbal yes|commit",
        "its a yes|go", "deal done", "done deal", "accepted the? proposal|quote|offer",
        "went with us|our", "chose|picked|selected us|our", "purchase order", "po received|arrived|landed",
        "po came|is in",
        "got|received the|a po", "sent|issued us? the|a? po", "🎉", "🥳", "🍾", ":tada:", ":champagne:", ":partying_face:", ":confetti_ball:",
        "bought", "buying", "purchased", "placed the|an|their? order", "approved the purchase|order|budget|contract",
        "is|its a go", "got a|the yes", "a yes", "green light", "moving forward with us", "going with us",
        "docusign completed|signed|done", "verbally committed", "committed", "paid", "renewed", "agreed to terms",
        "go ahead", "signature", "executed", "the winner", "countersigned", "signed the order|contract|deal",
        "deal done", "✅ signed", "po #", "po number",
    ),
    Kind.NO: (  # a hard no from the prospect
        "said|says|say no", "hard no", "got|its|thats a no", "gave us|me a no", "no go", "not interested",
        "passed <end>", "passed on", "pass <end>", "went with",
        "chose|picked|selected another|someone|somebody|competitors",
        "chose|picked|selected|went for a|the? different|other|competing? competitor|competition|vendor|provider|supplier|option|one",
        "not a fit for them|their", "not the right fit for them|their",
        "lost to", "lost the deal", "lost it", "we lost", "closed lost",
        "declined", "turned us|me|it down", "rejected", "not moving forward", "not going ahead|forward",
        "decided not to", "decided against", "no thanks", "no thank you",
        "stop contacting|calling|emailing", "dont contact|call|email", "unsubscribe",
        "signed-with|bought-from a|our|the|another? competitor|vendor|someone|somebody",
        "bought from someone|somebody|another", "awarded it|the deal|the contract to",
        "chose|picked|selected|choosing|going-with|went-with", "staying with", "not switching", "renewed with the",
        "build|building|built it in house", "in house", "killed the|their project|initiative", "cancelled|canceled the project",
        "lost <co> to", "no need", "told us|me no", "not going to proceed|move forward", "not proceed", "said pass",
        "no way", "not interested at all",
    ),
    Kind.DROP: (  # we decided it is not a fit (playbook sections 6 and 7)
        "dropping|drop|dropped <co>|it|them|this", "dropping|drop|dropped the deal|lead|account", "were dropping", "disqualified", "disqualify",
        "disqualifying", "dq", "dqd", "dqed", "not a fit", "not a good fit", "not a fit for us",
        "not the right fit", "we said no", "i said no", "told them no", "walking away", "walk away",
        "walked away", "not worth it|chasing|pursuing", "not worth the time|effort", "not pursuing", "no longer pursuing",
        "stop chasing|pursuing", "giving|gave up on", "letting|let it|them|<co> go", "moving on from",
        "closing out <co>? on our side", "closing it", "close it out", "not the right partner", "were passing on",
        "passing on", "killing|kill the <co>? deal", "no point chasing|pursuing", "pulled out", "were done with",
        "waste of time", "never buy",
    ),
    Kind.ADDED: (  # a new deal
        "^ new lead|deal|prospect|opp|opportunity|account|logo", "^ add|adding|added",
    ),
    Kind.NOTE: (  # the prospect spoke, but said nothing decisive: keeps "called" (TOUCH) from matching
        "called back", "called me|us", "returned my|our call", "got back to me|us", "replied", "responded",
        "answered", "picked up", "heard back",
        # not a win: paperwork before the deal
        "signed|sent|countersigned the|an|a|our|their? nda|mnda", "signed up",
        # meetings that are not ours, or only a reference point
        "their|the|a board|internal|budget meeting|call", "since|after the|our|my demo|meeting|call|proposal",
    ),
}

# Single-word outcome phrases common enough in other senses that they alone give less confidence.
WEAK = frozenset({"maybe", "meeting", "meetings", "demo", "demos", "met", "called", "won", "🎉", "🥳", "🍾",
                  ":tada:", ":champagne:", ":partying_face:", ":confetti_ball:"})
EMOJI = frozenset({"🎉", "🥳", "🍾", ":tada:", ":champagne:", ":partying_face:", ":confetti_ball:"})

# When several kinds match, the first in this order wins. Why this order:
# - WON first: a yes is the news ("said no to the upsell but signed the base plan").
# - NO before DROP: if the prospect said no, the decision was theirs, even when we also walk
#   away ("went with a competitor, so we're dropping it"); playbook section 5.
# - DROP before the open outcomes: the rep took the no ("maybe again, we're walking away").
# - A MEETING with a date ahead before MAYBE: a next conversation on the calendar is a next
#   step, whatever else was said ("said maybe, but booked a call for Dec 3").
# - MAYBE before an undated MEETING: "met Umbrella, they said maybe" is a maybe; a meeting
#   without a next meeting is no progress (playbook section 2).
# - Any answer before TOUCH: "left a voicemail, they said maybe later" means they answered.
# - ADDED late: "new lead: Stark, said maybe" is best proposed as MAYBE on a new company (the
#   bot's [Add as new deal] creates the deal and logs the maybe).
# - NOTE last: answers without a decision ("called back"), or a company alone.
MEETING_DATED = "meeting+date"
PRECEDENCE: tuple[Kind | str, ...] = (Kind.WON, Kind.NO, Kind.DROP, MEETING_DATED, Kind.MAYBE, Kind.MEETING,
                                      Kind.TOUCH, Kind.ADDED, Kind.NOTE)

# A phrase right after one of these (in the same clause, at most 3 words back) does not count.
NEGATORS = frozenset({"not", "never", "didnt", "doesnt", "dont", "wont", "isnt", "arent", "wasnt", "werent",
                      "hasnt", "havent", "hadnt", "cant", "cannot", "couldnt", "wouldnt", "shouldnt", "aint",
                      "nobody", "noone", "neither", "nor", "without"})
# A NO followed by one of these is a MAYBE: "not interested yet", "said no for now".
SOFTENERS = ("yet", "right now", "for now", "at the moment", "atm", "at this time", "this year", "this quarter",
             "this month", "until", "till", "til", "before", "just now", "for the moment")
# A bare "maybe" followed by one of these is the rep thinking aloud: "maybe I should call Acme".
MUSING = frozenset({"i", "ill", "im", "ive", "id", "we", "should", "its", "you"})
# A line that starts with one of these and has a "?" asks the bot something: not an update.
QUESTION_WORDS = frozenset({"how", "what", "whats", "why", "where", "when", "who", "which", "can", "could",
                            "should", "do", "does", "did", "is", "are", "will", "would", "shall", "any", "has",
                            "have", "help"})
# Rep shorthand, read as the words it stands for (whole words only; "w/" and "f/u" included).
ABBREVIATIONS = {
    "vm": "voicemail", "vms": "voicemails", "vmd": "left voicemail", "lvm": "left voicemail",
    "lm": "left message", "l/m": "left message", "msg": "message", "msgd": "messaged",
    "mtg": "meeting", "mtng": "meeting", "mtgs": "meetings", "meetin": "meeting",
    "f/u": "follow up", "fu": "follow up", "f/up": "follow up", "followup": "follow up", "fup": "follow up",
    "w/": "with ", "w": "with", "b/c": "because", "pls": "please", "plz": "please", "thx": "thanks", "ty": "thanks",
    "e-mail": "email", "e-mailed": "emailed", "emaild": "emailed", "infos": "info", "nxt": "next",
    "yr": "year", "qtr": "quarter", "interessted": "interested", "intrested": "interested",
    "intersted": "interested", "interestd": "interested", "mayb": "maybe", "mabye": "maybe",
    "maybee": "maybe", "myabe": "maybe", "sigend": "signed", "singed": "signed", "sined": "signed", "signd": "signed",
    "demod": "demoed", "n/i": "not interested", "em": "them", "no one": "noone", "u": "you",
    # One spelling per negation, so one phrase covers both: "did not pick up" = "didnt pick up", and
    # "isnt interested" = "is not interested" (so "not interested" matches).
    "did not": "didnt", "do not": "dont", "does not": "doesnt", "have not": "havent", "has not": "hasnt",
    "will not": "wont", "cannot": "cant", "isnt": "is not", "arent": "are not", "wasnt": "was not",
    "werent": "were not",
}
# A clause with one of these words talks about a meeting that happened: its dates are not the next one.
PAST_MEETING = frozenset({"met", "had"})

# --------------------------------------------------------------------------------------------
# Company names the bot does not know yet: a capitalised name right after one of NAME_AFTER,
# right before one of NAME_BEFORE, or (any case) after a NEW_DEAL cue at the start of the line.
# --------------------------------------------------------------------------------------------
NAME_AFTER = ("met with", "met", "meeting with", "meeting w/", "mtg with", "mtg w/", "call with", "demo with",
              "demo for", "lunch with", "coffee with", "voicemail for", "voicemail to", "vm for", "vm to",
              "left a message for", "left a message with", "emailed", "called", "pinged", "chased", "texted",
              "followed up with", "f/u with", "f/u to", "follow-up to", "heard back from", "signed", "closed",
              "won", "lost", "dropping", "disqualified", "no answer from", "no reply from")
NAME_BEFORE = ("said", "says", "signed", "passed", "went with", "chose", "picked", "is in", "are in", "wants",
               "asked", "replied", "came back", "got back", "didn't", "did not", "never", "won't", "is not",
               "isn't", "not interested", "is", "are", "will", "has", "ghosted", "went", "bought", "purchased",
               "declined", "turned", "needs", "booked", "accepted", "agreed", "hasn't", "placed", "paid",
               "renewed", "decided", "rejected", "pulled", "awarded", "approved", "committed", "countersigned",
               "inked", "gave", "told")
NEW_DEAL = ("new lead", "new deal", "new prospect", "new opportunity", "new opp", "new account", "adding",
            "added", "add")
# Words that end a lowercase new-deal name: "new lead: hooli from the conference".
NAME_STOPS = frozenset({"from", "via", "at", "in", "for", "with", "who", "said", "says", "next", "contact",
                        "stage", "and", "to", "they", "met", "is", "are", "wants", "-", "–", "—", "note", "amount"})
# Capitalised words that are not company names.
NOT_NAMES = frozenset({
    "i", "we", "they", "he", "she", "it", "you", "them", "their", "our", "my", "his", "her", "us", "me",
    "the", "a", "an", "this", "that", "these", "those", "then", "so", "and", "but", "or", "also", "just",
    "today", "tomorrow", "yesterday", "tonight", "tmrw", "finally", "again", "still", "maybe", "ok", "okay",
    "yes", "no", "hi", "hey", "hello", "thanks", "lol", "fyi", "btw", "update", "quick", "good", "great",
    "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday", "mon", "tue", "wed", "thu",
    "fri", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec", "january",
    "february", "march", "april", "may", "june", "july", "august", "september", "october", "november",
    "december", "q1", "q2", "q3", "q4", "ceo", "cfo", "cto", "coo", "cmo", "cio", "vp", "head", "director",
    "manager", "buyer", "procurement", "legal", "team", "boss", "contact", "champion", "someone", "everyone",
    "nobody", "client", "customer", "prospect", "lead", "deal", "he's", "she's", "they're", "we're", "i'm",
    "vm", "mtg", "left", "met", "called", "emailed", "sent", "new", "next", "call", "meeting", "demo",
})
ROLES = frozenset({"ceo", "cfo", "cto", "coo", "cmo", "cio", "vp", "head", "director", "manager", "buyer",
                   "procurement", "legal", "team", "boss", "contact", "champion", "founder", "owner"})
# Legal forms: "Acme Corp" is also found as "Acme", "株式会社サンプル" as "サンプル".
LEGAL_FORMS = frozenset({"inc", "corp", "corporation", "co", "llc", "ltd", "limited", "gmbh", "ag", "sa",
                         "sas", "sarl", "bv", "nv", "plc", "pty", "kk", "oy", "ab", "as", "srl", "spa",
                         "se", "lp", "llp", "pte", "kg", "ug", "oyj", "asa"})
LEGAL_AFFIXES = ("株式会社", "有限会社", "合同会社", "(株)", "股份有限公司", "有限公司")
# Everyday words a deal's first word is not found by alone, and single-word deal names that must
# be capitalised to count ("next" in "next meeting" is not the company Next).
COMMON_WORDS = frozenset({
    "the", "and", "for", "with", "from", "about", "after", "before", "again", "all", "any", "big", "best",
    "blue", "red", "green", "black", "white", "bright", "first", "global", "general", "great", "good", "new",
    "next", "open", "one", "our", "out", "over", "just", "day", "time", "data", "smart", "team", "work",
    "home", "world", "north", "south", "east", "west", "american", "national", "international", "united",
    "city", "bank", "health", "care", "digital", "media", "tech", "systems", "solutions", "group",
    "services", "partners", "capital", "energy", "power", "cloud", "soft", "net", "web", "high", "top",
    "sun", "star", "apple", "amazon", "target", "square", "block", "meta", "signal", "zoom", "slack",
    "today", "tomorrow", "call", "back", "will", "not", "yes", "now", "later", "they", "them", "this", "that",
    "deal", "lead", "note", "info", "email", "office", "company", "true", "real", "live", "hub",
}) | NOT_NAMES
