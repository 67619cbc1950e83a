"""synthgen.sampling"""
