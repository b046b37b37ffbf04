app_name = "disclosure"

urlpatterns = []
