"""Wire format only: pydantic models mirroring OpenAI's request and response objects field for field."""
