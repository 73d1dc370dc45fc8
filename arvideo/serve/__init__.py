"""`arvideo serve`: a local web page over one model folder (FastAPI + uvicorn).

Play (a WebSocket drives a `WorldModelSession` from the keyboard), Compare (a results folder's
JSON tables, PNGs and sample GIFs) and Generate (continue the context clip, download a
GIF/MP4). cli.py starts the server, app.py builds it; nothing here is imported by the rest
of arvideo, and importing it starts nothing.
"""
