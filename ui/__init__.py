"""The web app (`rag ui`, `python -m ui`). Gradio is imported only when the app starts, so
the other commands do not pay for it."""
