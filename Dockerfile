FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 NEXUS_VAR_DIR=/var/lib/nexus
WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY . .
RUN useradd --system nexus && mkdir -p /var/lib/nexus && chown nexus /var/lib/nexus
USER nexus
EXPOSE 8000
CMD ["gunicorn", "nexus.wsgi:application", "--bind", "0.0.0.0:8000"]
