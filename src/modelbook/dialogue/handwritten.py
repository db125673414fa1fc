"""Twelve restaurant-booking conversations written by hand, not from the generator's templates, with the gold
state after each user turn. They use phrasings the matcher was not written for ("half past seven",
"isn't important", "we'll be 4", "not too expensive"), so they measure how far the tracker generalises;
the generated conversations measure the update rule at scale."""
from __future__ import annotations

from modelbook.dialogue.scripts import Turn


def _conv(*turns: tuple[str, dict]) -> list[Turn]:
    state: dict = {}
    out = []
    for text, change in turns:
        state = {**state, **change}
        out.append(Turn(text, dict(state), "handwritten"))
    return out


CONVERSATIONS = (
    _conv(("Hi, I'm looking for a place to eat tonight.", {}),
          ("Something Italian would be lovely.", {"food": "italian"}),
          ("We're four people.", {"people": "4"}),
          ("Oh wait, my brother is coming too, so one more person.", {"people": "5"}),
          ("Is 8pm on Friday okay?", {"time": "20:00", "day": "friday"})),
    _conv(("Can you find me a cheap Chinese restaurant in the north?", {"food": "chinese", "price": "cheap", "area": "north"}),
          ("Actually, I'd rather not have Chinese. Thai, maybe?", {"food": "thai"}),
          ("Book it for Saturday.", {"day": "saturday"}),
          ("Two of us, at half past seven in the evening.", {"people": "2", "time": "19:30"})),
    _conv(("I need a table for six on Sunday.", {"people": "6", "day": "sunday"}),
          ("Price isn't important.", {"price": "dontcare"}),
          ("We like Indian food.", {"food": "indian"}),
          ("Make it 7:00 pm please.", {"time": "19:00"}),
          ("Sorry, Sunday is bad, can we do Monday instead?", {"day": "monday"})),
    _conv(("Hello!", {}),
          ("I want to eat in the city center, something upscale.", {"area": "centre", "price": "expensive"}),
          ("French cuisine, if possible.", {"food": "french"}),
          ("Party of 3, Thursday at 18:30.", {"people": "3", "day": "thursday", "time": "18:30"}),
          ("Actually push it an hour later.", {"time": "19:30"}),
          ("Thanks, that's all.", {})),
    _conv(("Any cuisine is fine but it must be cheap.", {"food": "dontcare", "price": "cheap"}),
          ("We're in the west of town.", {"area": "west"}),
          ("For 2 people on Wednesday.", {"people": "2", "day": "wednesday"}),
          ("Around 9 pm.", {"time": "21:00"})),
    _conv(("I'd like Japanese food in the east.", {"food": "japanese", "area": "east"}),
          ("Hmm, no, not the east, the south is closer.", {"area": "south"}),
          ("There'll be five of us.", {"people": "5"}),
          ("Tuesday at 8:30 pm.", {"day": "tuesday", "time": "20:30"}),
          ("Could we make it half an hour earlier?", {"time": "20:00"})),
    _conv(("Book a moderately priced Mexican place for Friday.", {"price": "moderate", "food": "mexican", "day": "friday"}),
          ("We'll be 4.", {"people": "4"}),
          ("At 19:00.", {"time": "19:00"}),
          ("Two more guests are joining.", {"people": "6"})),
    _conv(("What's good around here?", {}),
          ("Spanish, and not too expensive.", {"food": "spanish"}),
          ("Somewhere in the north.", {"area": "north"}),
          ("Table for two on Saturday at 6 pm.", {"people": "2", "day": "saturday", "time": "18:00"})),
    _conv(("I'm planning dinner for eight people next Monday.", {"people": "8", "day": "monday"}),
          ("The area doesn't matter, but I want Indian food.", {"area": "dontcare", "food": "indian"}),
          ("Cheap, please.", {"price": "cheap"}),
          ("At 17:30.", {"time": "17:30"}),
          ("Oh, two people cancelled, so six of us.", {"people": "6"})),
    _conv(("Do you have Thai restaurants in the south?", {"food": "thai", "area": "south"}),
          ("Expensive is fine.", {"price": "expensive"}),
          ("Actually, I don't mind where it is.", {"area": "dontcare"}),
          ("Three of us on Thursday.", {"people": "3", "day": "thursday"})),
    _conv(("Is there a French restaurant in the west?", {"food": "french", "area": "west"}),
          ("We need it for Sunday, 12 of us.", {"day": "sunday", "people": "12"}),
          ("Mid-range prices please.", {"price": "moderate"}),
          ("Let's say 8:00 pm.", {"time": "20:00"}),
          ("Sorry, we'll be 11 people.", {"people": "11"})),
    _conv(("Hey there.", {}),
          ("I'm craving Mexican.", {"food": "mexican"}),
          ("Hmm, or Japanese instead.", {"food": "japanese"}),
          ("In the east, on Wednesday, at 7 pm, for 2.", {"area": "east", "day": "wednesday", "time": "19:00", "people": "2"})),
)
