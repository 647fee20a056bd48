"""A receiver of Parcours webhooks (README, "Webhooks") to copy into an ERP: it checks each
delivery's signature with the Standard Webhooks library, answers 401 to what it cannot verify,
skips what it already has (a retry or a replay carries the same webhook-id) and prints one line
per new event. Needs `pip install starlette uvicorn standardwebhooks`; run it behind your https
reverse proxy:

    WEBHOOK_SECRET=whsec_... PORT=8080 python examples/webhook_receiver.py
"""
import os

import uvicorn
from standardwebhooks.webhooks import Webhook, WebhookVerificationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

# the endpoint's secret, shown once when it was registered (during a rotation, either one verifies)
webhook = Webhook(os.environ["WEBHOOK_SECRET"])
# the ids already handled; in memory for the example: a real ERP keeps them in its database,
# written in the same transaction as the row the event leads to (a unique webhook_id column)
seen: set[str] = set()


async def receive(request: Request) -> Response:
    body = await request.body()     # the bytes as sent: the signature covers them
    try:
        event = webhook.verify(body, dict(request.headers))
    except (WebhookVerificationError, ValueError):   # forged, altered, or more than 5 minutes off
        return Response(status_code=401)
    message_id = request.headers["webhook-id"]      # the event's id, the same on every retry and replay
    if message_id in seen:
        return Response(status_code=204)            # handled already: answer 2xx, or it comes again
    # the event is a CloudEvent: type (contract.signed, ...), subject (the contract's id), data;
    # handle it here, then remember its id (an error before that answers 500: it is sent again)
    print(event["type"], event.get("subject", ""), message_id, flush=True)
    seen.add(message_id)
    return Response(status_code=204)


app = Starlette(routes=[Route("/webhooks", receive, methods=["POST"])])

if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(os.environ.get("PORT", "8080")), log_level="warning")
