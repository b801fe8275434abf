"""The three baseline views: ORM insert, get by pk, F() increment."""

from django.db.models import F
from django.shortcuts import get_object_or_404
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from bare.models import Item


class ItemSerializer(serializers.ModelSerializer):
    class Meta:
        model = Item
        fields = ["id", "text", "counter", "created_at"]
        read_only_fields = ["id", "counter", "created_at"]


class ItemCreateView(APIView):
    def post(self, request: Request) -> Response:
        serializer = ItemSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        serializer.save()
        return Response(serializer.data, status=status.HTTP_201_CREATED)


class ItemDetailView(APIView):
    def get(self, request: Request, pk: int) -> Response:
        return Response(ItemSerializer(get_object_or_404(Item, pk=pk)).data)


class ItemIncrementView(APIView):
    def post(self, request: Request, pk: int) -> Response:
        # The classic race-free counter: one UPDATE ... SET counter = counter + 1.
        if not Item.objects.filter(pk=pk).update(counter=F("counter") + 1):
            raise NotFound("No such item.")
        return Response({"counter": Item.objects.filter(pk=pk).values_list("counter", flat=True).first()})
