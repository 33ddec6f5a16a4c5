"""What the first-party front door (context ``front_door=cloudfront``) adds per million visits.

Pure arithmetic, for bench/8_cost.py to add on top of an ingress's own cost: CloudFront sits in front
of the same API, so API Gateway, Lambda, SQS and DynamoDB charges are unchanged and CloudFront's are
extra. Prices are CloudFront's on-demand list prices for viewers in the United States / Europe (price
class 100, which the stack uses), first 10 TB a month, free tier ignored; checked 2026-12-01 with
the search tool:

- HTTPS requests $0.0100 per 10,000 (= $1.00 per million): https://aws.amazon.com/cloudfront/pricing/
  (also the request table in the AWS whitepaper "How AWS Pricing Works", CloudFront section).
- Data transfer out to the internet $0.085/GB (United States, Mexico, Canada; Europe the same):
  https://aws.amazon.com/cloudfront/pricing/ ("Regional Data Transfer Out to Internet", first 10 TB).
- Data transfer out to the origin $0.020/GB (United States / Europe, "Regional Data Transfer Out to
  Origin"): every byte CloudFront forwards to the API, request headers included.
  https://aws.amazon.com/cloudfront/pricing/
- Origin fetches from AWS origins (the API's answers to CloudFront) are free: same page.
- CloudFront Functions $0.10 per million invocations (the stack's path-prefix rewrite runs on every
  request): https://aws.amazon.com/cloudfront/pricing/ (also cur.vantage.sh's CloudFront billing codes).
- The always-free tier (1 TB out, 10 M requests, 2 M function invocations a month) is ignored here,
  as bench/8_cost.py ignores the other services' free tiers.
"""

from __future__ import annotations

from dataclasses import dataclass

MILLION = 1_000_000
GB = 1024**3


@dataclass(frozen=True)
class CloudFrontPrices:
    https_request_per_million: float = 1.00
    transfer_out_internet_per_gb: float = 0.085
    transfer_out_origin_per_gb: float = 0.020
    function_per_million: float = 0.10


@dataclass(frozen=True)
class VisitBytes:
    """Bytes one visit moves through CloudFront (rough, measurable with curl -v against a deployment)."""

    response_bytes: int = 900  # {"visitor_count": n} + CORS-free response headers + TLS record overhead
    request_to_origin_bytes: int = 1200  # request line, query (page, ref), forwarded headers


PRICES = CloudFrontPrices()
BYTES = VisitBytes()


def front_door_per_million(
    bytes_per_visit: VisitBytes = BYTES, prices: CloudFrontPrices = PRICES, *, requests_per_visit: float = 1.0
) -> dict[str, float]:
    """Dollars per million visits, line by line (``requests_per_visit`` > 1 if a page calls it more than once)."""
    requests = MILLION * requests_per_visit
    return {
        "CloudFront HTTPS requests": requests / MILLION * prices.https_request_per_million,
        "CloudFront data transfer out": requests
        * bytes_per_visit.response_bytes
        / GB
        * prices.transfer_out_internet_per_gb,
        "CloudFront transfer to origin": requests
        * bytes_per_visit.request_to_origin_bytes
        / GB
        * prices.transfer_out_origin_per_gb,
        "CloudFront Functions (path rewrite)": requests / MILLION * prices.function_per_million,
    }


def front_door_total_per_million(
    bytes_per_visit: VisitBytes = BYTES, prices: CloudFrontPrices = PRICES, *, requests_per_visit: float = 1.0
) -> float:
    return sum(front_door_per_million(bytes_per_visit, prices, requests_per_visit=requests_per_visit).values())


def with_front_door(ingress_per_million: float, **kwargs: object) -> float:
    """An ingress's cost per million visits with the front door added in front of it."""
    return ingress_per_million + front_door_total_per_million(**kwargs)  # type: ignore[arg-type]


if __name__ == "__main__":
    for line, dollars in front_door_per_million().items():
        print(f"{line:40s} ${dollars:.3f}")
    print(f"{'total per million visits':40s} ${front_door_total_per_million():.3f}")
