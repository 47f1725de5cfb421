-- wrk: the labeler's request, a PATCH of categories.
wrk.method = "PATCH"
wrk.body = '{"categories":["Zendesk"]}'
wrk.headers["Content-Type"] = "application/json"
