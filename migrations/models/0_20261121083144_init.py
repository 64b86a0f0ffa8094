from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True


async def upgrade(db: BaseDBAsyncClient) -> str:
    return """
        CREATE TABLE IF NOT EXISTS "users" (
    "id" UUID NOT NULL PRIMARY KEY,
    "email" VARCHAR(320) NOT NULL UNIQUE,
    "password_hash" VARCHAR(255) NOT NULL,
    "full_name" VARCHAR(200),
    "is_active" BOOL NOT NULL,
    "is_superuser" BOOL NOT NULL,
    "created_at" TIMESTAMPTZ NOT NULL,
    "updated_at" TIMESTAMPTZ NOT NULL
);
CREATE TABLE IF NOT EXISTS "jobs" (
    "id" UUID NOT NULL PRIMARY KEY,
    "kind" VARCHAR(16) NOT NULL,
    "status" VARCHAR(16) NOT NULL,
    "params" JSONB NOT NULL,
    "media_path" VARCHAR(512),
    "media" JSONB,
    "model_info" JSONB,
    "summary" JSONB,
    "error" TEXT,
    "attempts" INT NOT NULL,
    "progress" DOUBLE PRECISION NOT NULL,
    "frames_processed" INT NOT NULL,
    "frames_total" INT,
    "processing_speed" DOUBLE PRECISION,
    "processing_time" DOUBLE PRECISION,
    "estimated_completion" TIMESTAMPTZ,
    "created_at" TIMESTAMPTZ NOT NULL,
    "updated_at" TIMESTAMPTZ NOT NULL,
    "started_at" TIMESTAMPTZ,
    "finished_at" TIMESTAMPTZ,
    "heartbeat_at" TIMESTAMPTZ,
    "owner_id" UUID NOT NULL REFERENCES "users" ("id") ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS "idx_jobs_owner_i_5f1f12" ON "jobs" ("owner_id", "created_at");
CREATE INDEX IF NOT EXISTS "idx_jobs_status_5763c4" ON "jobs" ("status", "updated_at");
COMMENT ON COLUMN "jobs"."kind" IS 'IMAGE: image\nVIDEO: video';
COMMENT ON COLUMN "jobs"."status" IS 'QUEUED: queued\nPROCESSING: processing\nCOMPLETED: completed\nFAILED: failed';
CREATE TABLE IF NOT EXISTS "job_frames" (
    "id" BIGSERIAL NOT NULL PRIMARY KEY,
    "frame_index" INT NOT NULL,
    "timestamp_s" DOUBLE PRECISION NOT NULL,
    "detections" JSONB NOT NULL,
    "job_id" UUID NOT NULL REFERENCES "jobs" ("id") ON DELETE CASCADE,
    CONSTRAINT "uid_job_frames_job_id_346c3e" UNIQUE ("job_id", "frame_index")
);
COMMENT ON TABLE "job_frames" IS 'Detections of one analysed frame; (job, frame_index) is unique so a rerun overwrites.';
CREATE TABLE IF NOT EXISTS "refresh_tokens" (
    "jti" UUID NOT NULL PRIMARY KEY,
    "family_id" UUID NOT NULL,
    "expires_at" TIMESTAMPTZ NOT NULL,
    "used_at" TIMESTAMPTZ,
    "revoked_at" TIMESTAMPTZ,
    "created_at" TIMESTAMPTZ NOT NULL,
    "user_id" UUID NOT NULL REFERENCES "users" ("id") ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS "idx_refresh_tok_family__59d0e5" ON "refresh_tokens" ("family_id");
COMMENT ON TABLE "refresh_tokens" IS 'One issued refresh token; tokens of one sign-in share a family so reuse revokes them all.';
CREATE TABLE IF NOT EXISTS "aerich" (
    "id" SERIAL NOT NULL PRIMARY KEY,
    "version" VARCHAR(255) NOT NULL,
    "app" VARCHAR(100) NOT NULL,
    "content" JSONB NOT NULL
);"""


async def downgrade(db: BaseDBAsyncClient) -> str:
    return """
        """


MODELS_STATE = (
    "eJztXFtT2zgU/iseP9GZliEBCkt3diYXQ7MFwobQ7ZTueJRYSVRsybVkINPtf1/J92uIDQ"
    "5J1i+BHOno8n26nCMd5adsEA3qdPdPMpJPpJ8yBgbk/0TFbyUZmGYoFAIGRrqT7zsZOQIw"
    "oswCY8ZlE6BTyEUapGMLmQwRzKXY1nUhJGOeEeFpKLIx+mFDlZEpZDNo8YTbf7gYYQ0+Qi"
    "q+3srkAUNLRZqoamxBwKCmAibzfLcyZYDZTiNsUwtSRBHmnTpBUNdiPXMLceQqm5uO7Oam"
    "1z11coomjtQx0W0Dh7nNOZsRHGS3baTtCh2RNoW8aaLaSNdFzzyEfJHbSy5glg2D7mmhQI"
    "MTYOsCQPn3iY3HAjfJqUl8HPzhNS2STVUv+0P1WhmqqlwA7zHBgiuEmQD35y+33BAQRyqL"
    "CjofW4Od/fdvHAgIZVPLSXTgkn85ioABV9UhKkT5jvcvjXNnBiwF24aDdY83A+AxTGHu6y"
    "ZQ540ug7cvCAEPB6gPpQ/W8vDKvYvWmXIiIQNM4Tf8uddV+ifSPdIgkZeCXTbAo6pDPGUz"
    "/rXxfgENn1sDh4mGywTh88ydfJdeStNJEoSEBISzogwFofbqSJB5VhtqBce5/NeNcqN0Ty"
    "RX+xu+GvQ7yvV17/LsRDItMoaUch6+4U7/4upcGYqsY2KYOmQi92mrdy5EE4B0r+5Xp84E"
    "FjAyqPvzun+ZvUqFGgm6NDRm0r+SjiirjLZwtRrZSGcI011R7WssWAIhUbJB6Q89CvPORe"
    "tLkoHOeb+dXNlEAe0EHQbUEFBNwNnOnE3ZlMS1Ss0ib2OoeCVbGvf4sD9sNJcY9zxX7sB3"
    "0jKgLjLwA4Vnjfs1A3rlA1yYdSrCE1II+phWjX95/KltGMCaFwE/olIjXx55aFnESuM+hI"
    "8sG/dAYRsW9AVoD5Uvw8VoG3Mv5bx/eeZnT1IQRxswBg2TZVg2PZyDd1QlATnvRVUmzV5V"
    "O+hUtOBds3FwdHC8//7gmGdxWhlIjhZw0rscJg1Fi4jRnQHoqU5ADqRRpQSkE6FVGai7Vc"
    "G6ALNu/6Z9rkhXA6XTu+55K4g/ct1EIeICxBwIBkrrPIHyhNvWkKqeLwEz3Nrc4ZulWg/j"
    "5DD2UGKEAb04uIFaKWDXbEmuYIXwHGCVmjBr7C5eKVLKJVeMNYO54hUjAhxDBiwLuq9bY7"
    "4E5pByuJzTX+90RzQvBXyX5xCw5lh3OWUkTWyvkF3/n60iY9i7UK6HrYurmP3XbQ0VkdKM"
    "c+NJd5LHW0Eh0t+94UdJfJW+9i+VpFEe5Bt+lUWbgM2IismDCrQoJr7YF8WYj9wHFOQ7rv"
    "kCLK/o8Hn57YR3UOtjfe6NwA2h3ZssC1mP3PUUZD2uWbO+LqxnTHav9bFbDasc63HNekVf"
    "H5LTc3uCMKKzUjQnVGue15nnGeRzcsT34BJEJ3VrpteZ6Wj8xrKhF1GdlwzAWF9an4i3EC"
    "Etk7vMcAsHqww/k1gQTfEnOE9d9ycQ9eJ9bihcoyCLopiG0nA2W+AhCAKKDSneed5l6DqU"
    "ndZ1p9VVZAfjERjfPQBLU3PAdg+e0mi3Pb3TTwOogxznMQysOhXFbBHYDnakSSKYxdBMJx"
    "lNIykBGEydLom6RU1JvLKD1AIsF0aqqSFzT8aryV0+NJywBiqRiUQwlHjb9DmFmuQU80Ha"
    "4UW+db+oDhdvJEQllyaJEglIFrRsLJF7aD1YiEG6KycQrq6WjKi6W4GBM2zDwtxAuUisXa"
    "G4uTaa5h7PZi7cGYey3jx9Xshc9UeyvzWb+/tHzb3998eHB0dHh8d7wdlsOmnRIW27dybO"
    "aWNbsX9wmx9PF6UsRcPiI/JQa3VXDxt0RC6MQ74tGqZa7B4tobfKq7TNPaXVguUujXV+tE"
    "Ncaz1C3ER9WxPiJvbGYsZ5qFGb5otNc3/PfZ5h7gXibyagT9rl4WgqapVXaXMO4ISzPBuS"
    "O4iz7M5Y+kLb03JzcmuMZ13S/uxzWxBRanNL0FOXHPUP7p/AXqR8HL1DWKIzYHHrkRdnIH"
    "0uLEML2hTyz3uen0rcCjQkoOtpG7TSmp5+3ZFrcX5nqNCS5Gav32oUfavh8lhwA4gpVbsH"
    "rNLafw7CkcvoRxPx1BLHmnHNLbyc2qZTTb7olbqApPX9xEbw625oZSiOa9YsrzPLdfxILs"
    "0bGkmwVPwILXwhFVGpnd7FTq9N6+uop93eyIBaJ7/XQT3D3/XZyPdzRYeq/zmA+mn/q7qL"
    "0AAoI04//ylsoPAyb8lf9zYo9gh2v7m3xCNYniv3EayTlnz+TekD4ZN4BmihJ8cpxXX+AY"
    "WSiDcPD5dAnOfKRdxJSzxA4RWrGGRF6uejHVPahueACaD3lhnaPFc+0HupoY2oyjcFdJ8B"
    "dJsQHQKcs1RH9RJYj7hiVcPaX1lWuza3+/3zmBXd7iVfV95ctJXBTuNN/MItfbnJgaO2Ca"
    "1se+wpzGOqK4Q9kGws7rVPmb/MbLFPWb9J2DLW894kpFzfZeIG/d9Ke1bU4AZynxswGD9r"
    "TV6RlocpeTG7LXhV6fS3oIXGMznD7fdS3i5y/EGYZ208//9LZOIzI+HyHf17aNHMV7T5Tl"
    "FEpXY+l3M+xaQqgLCXfQvRbSzlcTYWeJyNtMfJa2QQZ9hj+dGGEZXVhxq+zkH/iwUVFrCL"
    "Xn4z+/UfkZ3YYQ=="
)
