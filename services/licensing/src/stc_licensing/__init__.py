"""STC licensing service: export operators, licence applications, the Art. 13 assessment,
licences and the statutory clock (Export Control Law 2020; Dual-use Regulations 2024)."""
