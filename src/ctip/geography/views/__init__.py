from .areas import browse, detail

__all__ = ["browse", "detail"]
