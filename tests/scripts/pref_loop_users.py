"""Plays users against a chatforge server (tests/scripts/pref_loop.sh) through its HTTP API:
asks the price of each item of ITEMS_JSON[WHICH], K sampled answers each (temperature 1, fixed
seeds), and with "rate" rates every answer through /v1/feedback by a fixed, documented
preference: +1 when it states a price ("costs" and "dollars"), -1 otherwise. Prints the share
of answers that state a price. With OUTCOMES_JSON, also writes {"item/seed": 0|1} there (1: the
answer states a price), so two models asked the same prompts with the same seeds can be
compared prompt by prompt (the win rate in pref_loop.sh).
Usage: pref_loop_users.py BASE_URL ITEMS_JSON WHICH K rate|norate [OUTCOMES_JSON]"""
import json, sys, urllib.request
base, items_json, which, k, rate = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5] == "rate"
items = json.load(open(items_json))[which]
def post(path, body):
    req = urllib.request.Request(base + path, json.dumps(body).encode(), {"Content-Type": "application/json"})
    return json.load(urllib.request.urlopen(req))
model = json.load(urllib.request.urlopen(base + "/v1/models"))["data"][0]["id"]
good = total = 0
outcomes = {}
for i, it in enumerate(items):
    for s in range(k):
        r = post("/v1/chat/completions", {"model": model, "messages": [{"role": "user", "content": f"how much is the {it}?"}],
                                          "temperature": 1.0, "seed": 1000 * i + s, "max_tokens": 16,
                                          "conversation_id": f"{which}-{it}"})
        text = r["choices"][0]["message"]["content"]
        liked = "costs" in text and "dollars" in text
        good += liked; total += 1
        outcomes[f"{it}/{1000 * i + s}"] = int(liked)
        if rate:
            post("/v1/feedback", {"message_id": r["choices"][0]["message_id"], "rating": 1 if liked else -1})
if len(sys.argv) > 6:
    json.dump(outcomes, open(sys.argv[6], "w"))
print(f"{good / total:.3f}")
